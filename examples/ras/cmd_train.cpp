// examples/ras/cmd_train.cpp — `ras train`: one unified RAS model for every --data class folder.
// Features of the training images are computed once (cached), then RAS trains on them with the
// reference's optimisation (AdamW 7e-4, wd 1e-4, batch 64, clip 0.1, seed 333). The run folder
// gets checkpoint.safetensors (every epoch, atomic; --resume continues it), model.safetensors (the
// selected weights), train_log.csv, metrics.json/.md, heatmaps/ and report.html. With --device cuda
// the backbone (features), the training and the evaluations run on the GPU.
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <unistd.h>
#include <set>
#include <sstream>

#include "commands.hpp"
#include "common.hpp"
#include "cuda_pipeline.hpp"
#include "device.hpp"
#include "html_report.hpp"
#include "mpi_world.hpp"
#include "report.hpp"
#include "ras/pipeline/sharded.hpp"
#include "ras/train/trainer.hpp"
#if defined(RAS_WITH_CUDA) && defined(__CUDACC__)
#include "ras/cuda.cuh"  // the Cuda kernels: this file is compiled by nvcc in a RAS_WITH_CUDA build
#endif

namespace ras_cli {

namespace {
// SIGINT / SIGTERM: the first one asks the trainer to stop at the next step boundary (it writes
// the checkpoint); the handler then resets itself, so a second signal ends the program at once.
std::atomic<bool> g_stop{false};
volatile std::sig_atomic_t g_signal = 0;
extern "C" void on_stop_signal(int sig) {
  g_signal = sig;
  g_stop.store(true);
  const char msg[] = "\nras train: interrupt received: stopping at the next step boundary and writing the "
                     "checkpoint (interrupt again to abort at once)\n";
  const ssize_t ignored = ::write(2, msg, sizeof msg - 1);
  (void)ignored;
}
void install_stop_handlers() {
  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_stop_signal;
  sa.sa_flags = SA_RESETHAND | SA_RESTART;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  // over several ranks SIGTERM is mpirun ending the job (mpi_world.hpp); SIGUSR1, which mpirun
  // passes on to every rank, asks for the stop instead
  sigaction(ras::dist::distributed(world()) ? SIGUSR1 : SIGTERM, &sa, nullptr);
}
const char* stop_signal_name() { return g_signal == SIGTERM ? "SIGTERM" : g_signal == SIGUSR1 ? "SIGUSR1" : "SIGINT"; }

std::string csv_log(const std::vector<ras::train::EpochStats>& history,
                    const std::map<int, std::pair<double, double>>& evals) {
  std::ostringstream o;
  o << "epoch,mean_loss,train_seconds,test_image_auroc,test_pixel_auroc\n";
  for (const auto& h : history) {
    o << h.epoch << ',' << h.mean_loss << ',' << h.seconds << ',';
    if (auto it = evals.find(h.epoch); it != evals.end()) o << it->second.first << ',' << it->second.second;
    else o << ',';
    o << '\n';
  }
  return o.str();
}
}  // namespace

int cmd_train(int argc, char** argv) {
  Args a("train", "--data DIR [--data DIR...] --backbone NAME --weights FILE --epochs N --out RUN",
         {{"data", "a class folder (MVTec AD, MPDD, BTAD, VisA 1cls or plain layout); class = folder name", false, true},
          {"layout", "dataset layout: auto, mvtec, mpdd, btad, visa, folder", false, false, "auto"},
          {"backbone", std::string("frozen backbone: ") + ras::pipeline::backbone_names_help(), false, false,
           "mobilenet_v2"},
          {"weights", "backbone weights (safetensors)"},
          {"epochs", "training epochs", false, false, "50"},
          {"out", "run folder (created)"},
          {"batch", "batch size", false, false, "64"},
          {"lr", "AdamW learning rate", false, false, "7e-4"},
          {"weight-decay", "AdamW weight decay", false, false, "1e-4"},
          {"clip", "gradient total-norm clip (0: off)", false, false, "0.1"},
          {"seed", "random seed (init, shuffling, jitter)", false, false, "333"},
          {"jitter", "feature jitter scale alpha (0: off)", false, false, "25"},
          {"encoder-layers", "T_e", false, false, "2"},
          {"decoder-layers", "T_d", false, false, "4"},
          {"neighbor-size", "encoder neighbour mask size k (k x k); 0 disables the mask", false, false, "7"},
          {"variant", "reference (official code) or paper (no output LayerNorm)", false, false, "reference"},
          {"block", "RASFormer block: gate_and_transformer, gate_only, transformer_only", false, false,
           "gate_and_transformer"},
          {"eval-every", "evaluate on the test sets every N epochs (0: only at the end)", false, false, "0"},
          {"select", "model selection: last (last epoch) or best-on-test (the reference's protocol: best of the "
                     "periodic test evaluations; optimistic)", false, false, "last"},
          {"resume", "continue the run in --out from its checkpoint", true},
          {"checkpoint-every", "also checkpoint every N steps within an epoch (0: epoch ends only)", false, false, "0"},
          {"cache", "feature cache folder (default: RUN/feature-cache)"},
          {"heatmaps", "heatmap overlays written per class after training", false, false, "8"},
          {"report-heatmaps", "heatmap overlays per class in RUN/report.html", false, false, "8"},
          threads_option(), device_option()});
  a.parse(argc, argv, 2);
  if (a.help()) return std::printf("%s", a.usage().c_str()), 0;
  RAS_CHECK(a.positional().empty(), "ras train: unexpected argument '", a.positional().empty() ? "" : a.positional()[0],
            "'");
  const DeviceChoice device = select_device(a);
  apply_threads(a);
  const auto t_start = std::chrono::steady_clock::now();
  const std::filesystem::path run = a.required("out");
  const std::string select = a.get("select");
  RAS_CHECK(select == "last" || select == "best-on-test", "ras train: --select must be last or best-on-test, got ",
            select);
  const long eval_every = a.integer("eval-every", 0, 1000000);
  RAS_CHECK(select == "last" || eval_every > 0, "ras train: --select best-on-test needs --eval-every N > 0");
  const auto checkpoint = run / "checkpoint.safetensors";
  // Every numeric option is range-checked before any work starts.
  ras::nn::RasConfig cfg;
  cfg.encoder_layers = a.integer("encoder-layers", 0, 64);
  cfg.decoder_layers = a.integer("decoder-layers", 1, 64);
  cfg.jitter_scale = a.real("jitter", 0, 1e6);
  const long k = a.integer("neighbor-size", 0, 13);  // 14x14 grid: larger masks every token
  cfg.neighbor_mask = k > 0;
  cfg.neighbor_h = cfg.neighbor_w = std::max(k, 1L);
  cfg.variant = ras::nn::parse_variant(a.get("variant"));
  cfg.block = ras::nn::parse_block(a.get("block"));

  ras::train::TrainOptions topt;
  topt.epochs = static_cast<int>(a.integer("epochs", 1, 1000000));
  topt.batch_size = a.integer("batch", 1, 1 << 20);
  topt.lr = a.real("lr", 0, 10);
  topt.weight_decay = a.real("weight-decay", 0, 10);
  topt.clip_norm = a.real("clip", 0, 1e9);
  topt.seed = static_cast<std::uint64_t>(a.integer("seed", 0, LONG_MAX));
  topt.checkpoint = checkpoint;
  topt.checkpoint_every_steps = static_cast<int>(a.integer("checkpoint-every", 0, 1 << 30));
  const int heatmaps = static_cast<int>(a.integer("heatmaps", 0, 100000));
  cfg.validate();
  if (std::filesystem::exists(checkpoint) && !a.has("resume"))
    ::ras::detail::throw_error("ras train: ", checkpoint.string(),
                               " exists; pass --resume to continue that run or choose another --out");
  if (a.has("resume"))
    RAS_CHECK(std::filesystem::exists(checkpoint), "ras train: --resume but there is no ", checkpoint.string());
  std::filesystem::create_directories(run);
  install_stop_handlers();

  // Data: one class per folder.
  ras::data::DatasetOptions dopt;
  dopt.layout = ras::data::parse_layout(a.get("layout"));
  dopt.missing_mask = ras::data::MissingMask::Warn;
  std::vector<ras::data::ClassDataset> sets;
  std::set<std::string> names;
  for (const auto& d : a.all("data")) {
    sets.push_back(ras::data::discover(d, dopt));
    RAS_CHECK(names.insert(sets.back().class_name).second, "ras train: two --data folders are both named '",
              sets.back().class_name, "'");
  }
  RAS_CHECK(!sets.empty(), "ras train: give at least one --data folder");
  std::vector<std::filesystem::path> train_images;
  std::string class_list;
  for (const auto& ds : sets) {
    for (const auto& s : ds.train) train_images.push_back(s.path);
    class_list += (class_list.empty() ? "" : ",") + ds.class_name;
    std::printf("class %-16s %4zu train, %4lld normal + %4lld anomalous test images (%s layout)\n",
                ds.class_name.c_str(), ds.train.size(), static_cast<long long>(ds.num_normal_test()),
                static_cast<long long>(ds.num_anomalous_test()), ras::data::layout_name(ds.layout));
  }

  // Backbone and cached features.
  const std::string backbone = a.get("backbone");
  const std::filesystem::path weights = a.required("weights");
  const std::filesystem::path cache = a.has("cache") ? std::filesystem::path(a.get("cache")) : run / "feature-cache";

  auto net = ras::pipeline::load_backbone(backbone, weights);
  cfg.channels = net->neck_channels();
  ras::pipeline::Detector det(ras::nn::RasReconstruction<float>(cfg, static_cast<std::uint64_t>(a.integer("seed", 0, LONG_MAX))),
                              std::move(net), backbone, weights, cache);
  // --device cuda: the training features come from a GPU copy of the backbone too (the cache is shared).
  if (device == DeviceChoice::cuda) det.extractor().set_compute(backbone_on_cuda(det.backbone(), "train"));
  // over several ranks: each computes a block of the images, every rank gets them all
  auto features = ras::pipeline::sharded_features(det.extractor(), train_images, "features train", world());
  const long computed = sum_over_ranks(det.extractor().computed()), hits = sum_over_ranks(det.extractor().cache_hits());
  std::printf("training features %s (computed %ld, from cache %ld)\n", ras::shape_string(features.shape()).c_str(),
              computed, hits);

  std::map<std::string, std::string> info = {{"backbone", backbone}, {"classes", class_list},
                                             {"epochs", std::to_string(topt.epochs)}};
  std::map<int, std::pair<double, double>> evals;
  double best = -1;
  int best_epoch = 0;
  // Training runs on `model`: the detector's own (cpu) or a copy on the GPU (cuda), whose weights
  // sync() brings back into the detector for saving and, copied to the GPU again, for evaluation.
  // The training features stay on the host.
  struct TrainEnd {
    int epoch;
    long step_in_epoch;
    long long steps_per_epoch;
    bool stopped;
  };
  auto train_on = [&]<class D>(ras::nn::RasReconstruction<float, D>& model, auto sync) -> TrainEnd {
    ras::train::Trainer<float, D> trainer(model, features, topt);
    if (a.has("resume")) {
      trainer.load_checkpoint(checkpoint);
      std::printf("resuming at epoch %d, step %ld of %lld\n", trainer.epoch() + 1, trainer.step_in_epoch(),
                  static_cast<long long>(trainer.steps_per_epoch()));
    }
    std::printf("RAS %s/%s: %lld trainable parameters, C_org %lld, %d epochs x %lld steps (batch %lld)\n",
                ras::nn::to_string(cfg.variant), ras::nn::to_string(cfg.block),
                static_cast<long long>(ras::nn::count_parameters(det.model(), true)), static_cast<long long>(cfg.channels),
                topt.epochs, static_cast<long long>(trainer.steps_per_epoch()), static_cast<long long>(topt.batch_size));
    std::fflush(stdout);

    trainer.on_epoch_end = [&](const ras::train::EpochStats& s) {
      if (eval_every > 0 && s.epoch % eval_every == 0 && s.epoch < topt.epochs) {
        sync();
        auto out = evaluate_and_report(det, sets, "epoch " + std::to_string(s.epoch) +
                                                      ": periodic test-set evaluation (monitoring)", {}, {}, {}, 0, info);
        const auto mean = ras::pipeline::mean_metrics(out.metrics);
        evals[s.epoch] = {mean.image_auroc, mean.pixel_auroc};
        const double key = (mean.image_auroc + mean.pixel_auroc) / 2;
        if (select == "best-on-test" && key > best) {
          best = key, best_epoch = s.epoch;
          if (is_root())
            det.save(run / "model_best_on_test.safetensors", {{"classes", class_list}, {"train.epoch", std::to_string(s.epoch)}});
        }
      }
      if (is_root()) write_text(run / "train_log.csv", csv_log(trainer.history(), evals));
    };
    trainer.run();
    sync();
    return {trainer.epoch(), trainer.step_in_epoch(), static_cast<long long>(trainer.steps_per_epoch()),
            trainer.stop_requested()};
  };
  topt.stop = &g_stop;
  topt.comm = world();  // data-parallel over the ranks of mpirun (null: this process alone)
  TrainEnd end{};
  if (device == DeviceChoice::cpu) {
    end = train_on(det.model(), [] {});
  } else {
#if defined(RAS_WITH_CUDA) && defined(__CUDACC__)
    std::printf("training on %s\n", ras::cuda_device_name().c_str());
    ras::nn::RasReconstruction<float, ras::Cuda> gpu_model(cfg, static_cast<std::uint64_t>(a.integer("seed", 0, LONG_MAX)));
    ras::nn::copy_module_state<float, ras::Cpu, ras::Cuda>(det.model(), gpu_model);
    end = train_on(gpu_model, [&] {
      ras::nn::copy_module_state<float, ras::Cuda, ras::Cpu>(gpu_model, det.model());
      detector_to_cuda(det, "train", /*announce=*/false);  // evaluations on the GPU, with these weights
    });
#else
    ::ras::detail::throw_error("ras train: this ras was built without the CUDA trainer (cmd_train.cpp must be "
                               "compiled by nvcc in a RAS_WITH_CUDA build)");
#endif
  }
  if (end.stopped) {
    if (world()) world()->barrier();  // rank 0 has written the checkpoint before any rank exits
    if (!is_root()) return 1;
    std::fflush(stdout);
    std::fprintf(stderr, "ras train: stopped by %s at epoch %d, step %ld of %lld; checkpoint written to %s; "
                 "continue with the same options and --resume\n", stop_signal_name(), end.epoch + 1,
                 end.step_in_epoch, end.steps_per_epoch, checkpoint.string().c_str());
    return 1;
  }
  const double train_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  if (is_root())
    det.save(run / "model.safetensors", {{"classes", class_list}, {"train.epoch", std::to_string(end.epoch)},
                                         {"selection", "last epoch"}});
  bool stop_now = g_stop.load();
  if (ras::dist::distributed(world())) stop_now = world()->any(stop_now);  // the same path on every rank
  if (stop_now) {
    if (world()) world()->barrier();  // rank 0 has written the model before any rank exits
    if (!is_root()) return 1;
    std::fprintf(stderr, "ras train: stopped by %s after training: %s written, the evaluation was skipped "
                 "(run ras eval --model %s)\n", stop_signal_name(), (run / "model.safetensors").string().c_str(),
                 run.string().c_str());
    return 1;
  }

  // Final evaluation of the selected weights.
  std::string protocol = "last epoch (" + std::to_string(end.epoch) + ")";
  if (select == "best-on-test") {
    auto final_eval = evaluate_and_report(det, sets, "last epoch", {}, {}, {}, 0, info);
    const auto mean = ras::pipeline::mean_metrics(final_eval.metrics);
    if ((mean.image_auroc + mean.pixel_auroc) / 2 > best) {
      best_epoch = end.epoch;
      if (is_root()) det.save(run / "model_best_on_test.safetensors", {{"classes", class_list}});
    }
    if (world()) world()->barrier();  // rank 0 has written the file every rank loads now
    det = ras::pipeline::Detector::load({run / "model_best_on_test.safetensors", "", "", cache});
    if (device == DeviceChoice::cuda) detector_to_cuda(det, "train", /*announce=*/false);
    protocol = "BEST-ON-TEST epoch " + std::to_string(best_epoch) +
               " (selected on the test set, as the reference does: optimistic)";
  }
  info["model_selection"] = protocol;
  info["train_wall_seconds"] = std::to_string(train_seconds);
  ras::report::CollectOptions ropt;
  ropt.gallery = static_cast<int>(a.integer("report-heatmaps", 0, 100000));
  HtmlReport report(ropt);
  const std::string title = "RAS test metrics, model selection: " + protocol;
  evaluate_and_report(det, sets, title, run / "metrics.json", run / "metrics.md", run / "heatmaps",
                      heatmaps, info, report.hook());
  if (is_root()) report.write(run / "report.html", title, info, run / "train_log.csv");
  const double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  std::printf("model: %s\nwall time: %.1f s (training incl. features %.1f s)\n", (run / "model.safetensors").string().c_str(),
              total, train_seconds);
  return 0;
}

}  // namespace ras_cli
