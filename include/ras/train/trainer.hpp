// ras/train/trainer.hpp — unified RAS training on cached features (train_val.py of the reference):
// AdamW (lr 7e-4, weight decay 1e-4 on every parameter), batch 64, total-norm gradient clipping
// at 0.1, constant learning rate, seeded shuffling and feature jitter. Each step runs forward and
// backward parallel over the batch in fixed micro-batches (train/batch_parallel.hpp): the weights do
// not depend on the thread count. Checkpoints hold the parameters, AdamW state, configuration,
// epoch/step and RNG state, are written atomically, and resuming from one reproduces the
// uninterrupted run exactly (with any thread count).
//
// Data-parallel over processes (options.comm, e.g. MPI ranks; ras/dist/communicator.hpp): every rank
// holds the same features, model and RNG and draws the same order and jitter; rank r runs the
// contiguous block r of the batch's micro-batches, the gradients are summed over ranks in
// micro-batch order (ras/dist/ordered_sum.hpp), so every rank applies the same clip + AdamW step to
// bitwise the same gradient as one process would: the weights do not depend on the number of ranks
// either. Rank 0 alone writes checkpoints and shows progress; the checkpoint does not depend on the
// number of ranks, so a run resumes with any.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <functional>
#include <map>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>

#include "ras/autograd/ops_reduce.hpp"
#include "ras/dist/ordered_sum.hpp"
#include "ras/io/metadata.hpp"
#include "ras/io/safetensors.hpp"
#include "ras/io/state_dict.hpp"
#include "ras/nn/transfer.hpp"
#include "ras/nn/optim.hpp"
#include "ras/model/ras_model.hpp"
#include "ras/train/batch_parallel.hpp"
#include "ras/train/progress.hpp"

namespace ras::train {

struct TrainOptions {
  int epochs = 50;
  Index batch_size = 64;
  double lr = 7e-4;
  double weight_decay = 1e-4;
  double clip_norm = 0.1;         // <= 0 disables clipping
  std::uint64_t seed = 333;
  std::filesystem::path checkpoint;  // written at the end of every epoch (and every N steps) when set
  int checkpoint_every_steps = 0;    // 0: only at epoch ends
  bool progress = true;
  long stop_after_steps = -1;        // for tests: return after this many steps of this run, as if killed
  // When set and true at a step boundary (e.g. from a SIGINT handler), run() writes the checkpoint
  // (when one is configured) and returns false; stop_requested() then says so.
  const std::atomic<bool>* stop = nullptr;
  // Each batch is split into micro-batches of this many samples, run in parallel over `threads`
  // workers (train/batch_parallel.hpp). The weights after a step depend on micro_batch (the order
  // in which per-micro-batch gradients are summed) but not on the thread count.
  Index micro_batch = 8;
  int threads = 0;                   // 0: Cpu::num_threads(); clamped to the machine's cores
  // Data-parallel training over the ranks of comm (null or one rank: this process alone). Every rank
  // must run the same Trainer calls with the same options and features. Cpu only.
  dist::Communicator* comm = nullptr;
  Index chain_chunk = Index(1) << 20;  // values per pipelined message of the gradient sum over ranks
};

struct EpochStats {
  int epoch = 0;
  double mean_loss = 0;
  double seconds = 0;
};

namespace detail {
inline Index numel_of(const std::vector<Index>& shape) {
  Index n = 1;
  for (Index e : shape) n *= e;
  return n;
}
inline std::string rng_state_string(const Rng::State& s) {
  std::ostringstream o;
  o << s[0] << ' ' << s[1] << ' ' << s[2] << ' ' << s[3];
  return o.str();
}
// Exactly four unsigned decimal numbers separated by single spaces, not all zero.
inline Rng::State parse_rng_state(const std::string& text, const std::string& where = "checkpoint",
                                  const std::string& key = "train.rng") {
  Rng::State s{};
  std::size_t pos = 0;
  bool ok = text.size() <= 100;
  for (std::size_t i = 0; ok && i < s.size(); ++i) {
    const std::size_t end = i + 1 < s.size() ? text.find(' ', pos) : text.size();
    ok = end != std::string::npos && io::parse_uint64(text.substr(pos, end - pos), s[i]);
    pos = end + 1;
  }
  RAS_CHECK(ok && (s[0] | s[1] | s[2] | s[3]) != 0, where, ": metadata field '", key,
            "': expected 4 unsigned integers (not all 0) separated by spaces but found '", text.substr(0, 100), "'");
  return s;
}
}  // namespace detail

// The progress fields of a checkpoint's metadata ("format", "train.*"), validated: every field must
// be present and well formed, the epoch within [0, epochs], the step within [0, steps_per_epoch),
// the RNG states valid, the history complete. `where` starts the error messages.
struct CheckpointProgress {
  Index batch_size = 0;
  int epoch = 0;
  long step_in_epoch = 0;
  Rng::State rng_epoch_start{}, rng{};
  double loss_sum = 0;
  std::vector<EpochStats> history;
};

inline CheckpointProgress read_checkpoint_progress(const io::Metadata& m, const std::string& where, int epochs,
                                                   Index steps_per_epoch) {
  const std::string& format = io::meta_string(m, "format", where);
  RAS_CHECK(format == "ras-checkpoint", where, ": metadata field 'format': expected 'ras-checkpoint' but found '",
            format.substr(0, 64), "'");
  const Index batch = io::meta_int(m, "train.batch_size", 1, Index(1) << 40, where);
  const int epoch = static_cast<int>(io::meta_int(m, "train.epoch", 0, epochs, where));
  const long step = static_cast<long>(io::meta_int(m, "train.step_in_epoch", 0, steps_per_epoch - 1, where));
  const auto rng_epoch_start = detail::parse_rng_state(io::meta_string(m, "train.rng_epoch_start", where), where,
                                                       "train.rng_epoch_start");
  const auto rng = detail::parse_rng_state(io::meta_string(m, "train.rng", where), where, "train.rng");
  const double loss_sum = io::meta_real(m, "train.loss_sum", 0, 1e300, where);
  std::vector<EpochStats> history;
  {
    const std::string& text = io::meta_string(m, "train.history", where);
    std::size_t pos = 0;
    while (pos < text.size()) {
      const std::size_t end = text.find(';', pos);
      const std::string item = text.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
      const std::size_t c1 = item.find(':'), c2 = c1 == std::string::npos ? c1 : item.find(':', c1 + 1);
      EpochStats s;
      std::int64_t e = 0;
      bool ok = end != std::string::npos && c2 != std::string::npos && io::parse_int64(item.substr(0, c1), e) &&
                e == static_cast<std::int64_t>(history.size()) + 1 &&
                io::parse_finite_double(item.substr(c1 + 1, c2 - c1 - 1), s.mean_loss) &&
                io::parse_finite_double(item.substr(c2 + 1), s.seconds);
      RAS_CHECK(ok, where, ": metadata field 'train.history': expected 'epoch:loss:seconds;' entries numbered 1, 2, ... "
                "but entry ", history.size() + 1, " is '", item.substr(0, 64), "'");
      s.epoch = static_cast<int>(e);
      history.push_back(s);
      pos = end + 1;
    }
    RAS_CHECK(history.size() == static_cast<std::size_t>(epoch), where, ": metadata field 'train.history': expected ",
              epoch, " entries (train.epoch) but found ", history.size());
  }
  return {batch, epoch, step, rng_epoch_start, rng, loss_sum, std::move(history)};
}

// D: the device the model trains on. The features stay on the host; each batch is gathered there
// and copied to D. Checkpoints go through a host copy of the model and optimiser state.
template <class S = float, class D = Cpu>
class Trainer {
 public:
  using Model = nn::RasReconstruction<S, D>;
  static constexpr const char* prefix = "reconstruction";

  // features: (N, C_org, h, w), the cached (clean) backbone features of every training image.
  Trainer(Model& model, const Tensor<S, 4>& features, TrainOptions options)
      : model_(model), features_(features), opt_(std::move(options)),
        params_(nn::named_parameters<S>(model, prefix)),
        adamw_(params_, optim::AdamWOptions{opt_.lr, 0.9, 0.999, 1e-8, opt_.weight_decay}),
        parallel_(model, opt_.micro_batch, opt_.threads), rng_(opt_.seed), epoch_start_rng_(rng_.state()) {
    const auto& c = model.config();
    RAS_CHECK(features.dim(0) > 0, "Trainer: no training features");
    RAS_CHECK(features.dim(1) == c.channels && features.dim(2) == c.feature_h && features.dim(3) == c.feature_w,
              "Trainer: expected features (N, ", c.channels, ", ", c.feature_h, ", ", c.feature_w, ") but got ",
              shape_string(features.shape()));
    RAS_CHECK(opt_.batch_size >= 1, "Trainer: batch size must be >= 1 but got ", opt_.batch_size);
    RAS_CHECK(opt_.epochs >= 0, "Trainer: epochs must be >= 0 but got ", opt_.epochs);
    RAS_CHECK((!dist::distributed(opt_.comm) || std::is_same_v<D, Cpu>),
              "Trainer: data-parallel training over ranks runs on the Cpu only");
  }

  // True on the rank that writes files (rank 0, or the only process).
  bool root() const { return opt_.comm == nullptr || opt_.comm->root(); }

  int epoch() const { return epoch_; }
  // True when the last run() returned because options.stop was set.
  bool stop_requested() const { return stopped_; }
  long step_in_epoch() const { return step_in_epoch_; }
  Index steps_per_epoch() const { return (features_.dim(0) + opt_.batch_size - 1) / opt_.batch_size; }
  const std::vector<EpochStats>& history() const { return history_; }
  // Called after every finished epoch (e.g. periodic evaluation); the model is in training mode after.
  std::function<void(const EpochStats&)> on_epoch_end;

  // One optimisation step on the samples `idx`; returns the loss (mean squared error over the batch).
  // The jitter is drawn from the trainer's Rng as one seed per sample (nn::RasReconstruction::draw_jitter).
  double train_step(const std::vector<Index>& idx) {
    if constexpr (std::is_same_v<D, Cpu>) {
      if (dist::distributed(opt_.comm)) return train_step_distributed(idx);
      // The Cpu: micro-batches over worker threads, gradients summed in a fixed order.
      model_.set_training(true);
      const auto jitter = model_.draw_jitter(rng_, static_cast<Index>(idx.size()));
      nn::zero_grad(model_);
      const double value = parallel_.forward_backward(features_, idx, jitter.view());
      if (opt_.clip_norm > 0) optim::clip_grad_norm(params_, opt_.clip_norm);
      adamw_.step();
      nn::zero_grad(model_);
      return value;
    } else {
      // Another device: the batch gathered on the host and copied over, one stream.
      const Index B = static_cast<Index>(idx.size()), C = features_.dim(1), h = features_.dim(2), w = features_.dim(3);
      auto host_batch = Tensor<S, 4>::uninitialized({B, C, h, w});
      const auto index = Tensor<Index, 1>::from({B}, idx);
      kernels::gather_rows<S, Cpu>(B, C * h * w, index.data(), features_.data(), host_batch.data());
      Tensor<S, 4, D> batch = host_batch.template to<D>();
      model_.set_training(true);
      const auto jitter = model_.draw_jitter(rng_, B);
      auto rec = model_(batch, jitter.view());
      autograd::Var<S, 4, D> target(std::move(batch));
      auto loss = autograd::mse_loss(rec, target);
      const double value = static_cast<double>(loss.value().item());
      autograd::backward(loss);
      if (opt_.clip_norm > 0) optim::clip_grad_norm<S, D>(params_, opt_.clip_norm);
      adamw_.step();
      nn::zero_grad(model_);
      return value;
    }
  }
  // Workers the last step used.
  int last_step_workers() const { return parallel_.last_workers(); }

  // Trains from the current state up to options.epochs. Returns false when stopped early by
  // stop_after_steps (a simulated kill), true when all epochs are done.
  bool run() {
    long steps_this_run = 0;
    stopped_ = false;
    const Index N = features_.dim(0);
    while (epoch_ < opt_.epochs) {
      // The epoch's order comes from the RNG state at the epoch start, so a resumed epoch is
      // shuffled exactly as the interrupted one was.
      Rng order_rng(0);
      order_rng.set_state(epoch_start_rng_);
      std::vector<Index> order(static_cast<std::size_t>(N));
      std::iota(order.begin(), order.end(), 0);
      for (Index i = N - 1; i > 0; --i)
        std::swap(order[static_cast<std::size_t>(i)], order[order_rng.below(static_cast<std::uint64_t>(i + 1))]);
      if (step_in_epoch_ == 0) {
        rng_.set_state(order_rng.state());
        epoch_loss_sum_ = 0;
        epoch_seconds_ = 0;
      }
      ProgressBar bar("epoch " + std::to_string(epoch_ + 1) + "/" + std::to_string(opt_.epochs),
                      static_cast<long>(steps_per_epoch()), "step");
      while (step_in_epoch_ < steps_per_epoch()) {
        if (opt_.stop_after_steps >= 0 && steps_this_run >= opt_.stop_after_steps) return false;
        bool stop = opt_.stop && opt_.stop->load();
        if (dist::distributed(opt_.comm) && opt_.stop) stop = opt_.comm->any(stop);  // every rank stops at the same step
        if (stop) {
          if (!opt_.checkpoint.empty() && root()) save_checkpoint(opt_.checkpoint);
          stopped_ = true;
          return false;
        }
        const Index begin = step_in_epoch_ * opt_.batch_size, end = std::min(N, begin + opt_.batch_size);
        std::vector<Index> idx(order.begin() + begin, order.begin() + end);
        const auto t0 = std::chrono::steady_clock::now();
        const double loss = train_step(idx);
        epoch_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        epoch_loss_sum_ += loss * double(end - begin);
        ++step_in_epoch_;
        ++steps_this_run;
        if (opt_.progress && root()) {
          char status[96];
          std::snprintf(status, sizeof status, "loss %.5f %.1f img/s", loss,
                        double(begin + (end - begin)) / std::max(epoch_seconds_, 1e-9));
          bar.update(static_cast<long>(step_in_epoch_), status);
        }
        if (!opt_.checkpoint.empty() && opt_.checkpoint_every_steps > 0 &&
            step_in_epoch_ % opt_.checkpoint_every_steps == 0 && step_in_epoch_ < steps_per_epoch() && root())
          save_checkpoint(opt_.checkpoint);
      }
      EpochStats stats{epoch_ + 1, epoch_loss_sum_ / double(N), epoch_seconds_};
      history_.push_back(stats);
      ++epoch_;
      step_in_epoch_ = 0;
      epoch_start_rng_ = rng_.state();
      if (!opt_.checkpoint.empty() && root()) save_checkpoint(opt_.checkpoint);
      if (on_epoch_end) {
        on_epoch_end(stats);
        model_.set_training(true);
      }
    }
    return true;
  }

  // Parameters ("reconstruction.*"), AdamW state ("optim.*"), configuration and progress.
  void save_checkpoint(const std::filesystem::path& path) {
    io::SafetensorsWriter w;
    if constexpr (is_host_device<D>) {
      io::add_state_dict(w, model_, std::string(prefix) + ".");
    } else {
      nn::RasReconstruction<S, Cpu> host(model_.config(), 0);
      nn::copy_module_state<S, D, Cpu>(model_, host);
      io::add_state_dict(w, host, std::string(prefix) + ".");
    }
    for (const auto& b : adamw_.state_buffers()) {
      const std::string name = "optim." + b.name;
      if (b.dtype == DType::I64) {  // step counters live on the host
        w.add(name, static_cast<const std::int64_t*>(b.data), b.shape);
      } else if constexpr (is_host_device<D>) {
        w.add(name, static_cast<const S*>(b.data), b.shape);
      } else {
        std::vector<S> host(static_cast<std::size_t>(detail::numel_of(b.shape)));
        D::copy_to_host(host.data(), b.data, host.size() * sizeof(S));
        w.add(name, host.data(), b.shape);
      }
    }
    for (const auto& [k, v] : nn::to_metadata(model_.config())) w.set_metadata(k, v);
    w.set_metadata("format", "ras-checkpoint");
    w.set_metadata("train.epoch", std::to_string(epoch_));
    w.set_metadata("train.step_in_epoch", std::to_string(step_in_epoch_));
    w.set_metadata("train.epochs", std::to_string(opt_.epochs));
    w.set_metadata("train.batch_size", std::to_string(opt_.batch_size));
    w.set_metadata("train.micro_batch", std::to_string(opt_.micro_batch));
    w.set_metadata("train.seed", std::to_string(opt_.seed));
    w.set_metadata("train.rng_epoch_start", detail::rng_state_string(epoch_start_rng_));
    w.set_metadata("train.rng", detail::rng_state_string(rng_.state()));
    w.set_metadata("train.loss_sum", std::to_string(epoch_loss_sum_));
    std::ostringstream hist;
    for (const auto& h : history_) hist << h.epoch << ':' << h.mean_loss << ':' << h.seconds << ';';
    w.set_metadata("train.history", hist.str());
    w.write(path);
  }

  // Restores everything save_checkpoint wrote. The model configuration must match. Every metadata
  // field is validated (ranges included) and every loaded value must be finite: ras::Error names
  // the file and the field otherwise.
  void load_checkpoint(const std::filesystem::path& path) {
    io::SafetensorsFile file(path);
    const std::string where = "checkpoint '" + path.string() + "'";
    const auto& m = file.metadata();
    const CheckpointProgress progress = read_checkpoint_progress(m, where, opt_.epochs, steps_per_epoch());
    const nn::RasConfig saved = nn::config_from_metadata(m, where);
    RAS_CHECK(nn::to_metadata(saved) == nn::to_metadata(model_.config()),
              "resume: the checkpoint ", path.string(), " was trained with another model configuration");
    RAS_CHECK(progress.batch_size == opt_.batch_size, "resume: checkpoint batch size ", progress.batch_size,
              " but this run uses ", opt_.batch_size);
    if (m.count("train.micro_batch"))
      RAS_CHECK(io::meta_int(m, "train.micro_batch", 1, Index(1) << 40, where) == opt_.micro_batch,
                "resume: checkpoint micro-batch ", io::meta_string(m, "train.micro_batch", where), " but this run uses ",
                opt_.micro_batch, " (the weights depend on it)");
    io::LoadOptions lo;
    lo.strict = true;
    lo.prefix = std::string(prefix) + ".";
    if constexpr (is_host_device<D>) {
      io::load_state_dict(model_, file, lo);
    } else {
      nn::RasReconstruction<S, Cpu> host(model_.config(), 0);
      io::load_state_dict(host, file, lo);
      nn::copy_module_state<S, Cpu, D>(host, model_);
    }
    for (const auto& b : adamw_.state_buffers()) {
      const std::string name = "optim." + b.name;
      RAS_CHECK(file.has(name), "resume: checkpoint ", path.string(), " has no optimiser state '", name, "'");
      if (is_host_device<D> || b.dtype == DType::I64) {
        file.get_into(name, b.dtype, b.data, b.shape);
      } else {
        std::vector<unsigned char> host(static_cast<std::size_t>(detail::numel_of(b.shape)) * dtype_size(b.dtype));
        file.get_into(name, b.dtype, host.data(), b.shape);
        D::copy_from_host(b.data, host.data(), host.size());
      }
      if (b.dtype == DType::I64) {
        const auto* v = static_cast<const std::int64_t*>(b.data);
        for (Index i = 0; i < detail::numel_of(b.shape); ++i)
          RAS_CHECK(v[i] >= 0 && v[i] <= (std::int64_t(1) << 40), where, ": optimiser state '", name,
                    "': expected a step count in [0, 2^40] but found ", v[i]);
      } else {
        const Index bad = kernels::count_non_finite<S, D>(detail::numel_of(b.shape), static_cast<const S*>(b.data));
        RAS_CHECK(bad == 0, where, ": optimiser state '", name, "' holds ", bad, " non-finite values");
      }
    }
    epoch_ = progress.epoch;
    step_in_epoch_ = progress.step_in_epoch;
    epoch_start_rng_ = progress.rng_epoch_start;
    rng_.set_state(progress.rng);
    epoch_loss_sum_ = progress.loss_sum;
    history_ = progress.history;
  }

 private:
  // train_step over the ranks of opt_.comm (Cpu): this rank's block of micro-batches, their
  // gradients summed over ranks in micro-batch order, the losses gathered, then the same clip +
  // AdamW step on every rank.
  double train_step_distributed(const std::vector<Index>& idx) {
    dist::Communicator& comm = *opt_.comm;
    const int r = comm.rank(), R = comm.size();
    const Index B = static_cast<Index>(idx.size()), M = parallel_.micro_batches(B);
    const dist::Block mine = dist::block_of(M, r, R);
    model_.set_training(true);
    const auto jitter = model_.draw_jitter(rng_, B);  // every rank draws the whole batch's seeds
    nn::zero_grad(model_);
    // rank 0 adds its micro-batches into the master gradients as one process would; the others keep
    // theirs apart until the running sum of the ranks before them arrives
    const auto losses = parallel_.forward_backward_range(features_, idx, jitter.view(), mine.begin, mine.end,
                                                         r == 0 ? nullptr : &kept_);
    const auto& offsets = parallel_.offsets();
    const Index total = parallel_.total_size();
    std::vector<Index> segments(offsets.begin(), offsets.end());
    segments.push_back(total);
    if (flat_.numel() != total) flat_ = Tensor<S, 1>::uninitialized({total});
    std::vector<char> present(params_.size(), 0);
    if (r == 0) {
      for (std::size_t i = 0; i < params_.size(); ++i) {
        S* dst = flat_.data() + offsets[i];
        if (const S* g = params_[i].grad ? params_[i].grad() : nullptr) {
          Cpu::copy(dst, g, static_cast<std::size_t>(params_[i].numel) * sizeof(S));
          present[i] = 1;
        } else {
          kernels::fill<S, Cpu>(params_[i].numel, S(0), dst);
        }
      }
    }
    std::vector<dist::SumTerm<S>> terms;
    if (r != 0)
      for (const auto& k : kept_) terms.push_back({k.grads.data(), k.present.data()});
    dist::ordered_chain_sum<S>(comm, segments, flat_.data(), present.data(), terms, opt_.chain_chunk);
    for (std::size_t i = 0; i < params_.size(); ++i)
      if (present[i])
        Cpu::copy(params_[i].grad_or_zeros(), flat_.data() + offsets[i], static_cast<std::size_t>(params_[i].numel) * sizeof(S));
    // the weighted losses of all M micro-batches, summed in order as one process does
    std::vector<double> all(static_cast<std::size_t>(M));
    std::vector<std::size_t> bytes(static_cast<std::size_t>(R));
    for (int q = 0; q < R; ++q) bytes[static_cast<std::size_t>(q)] = static_cast<std::size_t>(dist::block_of(M, q, R).size()) * sizeof(double);
    comm.allgatherv(losses.data(), all.data(), bytes);
    double value = 0;
    for (double l : all) value += l;
    if (opt_.clip_norm > 0) optim::clip_grad_norm(params_, opt_.clip_norm);
    adamw_.step();
    nn::zero_grad(model_);
    return value;
  }

  Model& model_;
  const Tensor<S, 4>& features_;
  TrainOptions opt_;

  std::vector<nn::ParamRef<S>> params_;
  optim::AdamW<S, D> adamw_;
  // The batch-parallel step (Cpu only; other devices run one stream).
  struct NoBatchParallel {
    NoBatchParallel(Model&, Index, int) {}
    int last_workers() const { return 1; }
  };
  std::conditional_t<std::is_same_v<D, Cpu>, BatchParallel<S>, NoBatchParallel> parallel_;
  // distributed steps: this rank's micro-batch gradients (ranks > 0) and the flat sum
  std::vector<typename BatchParallel<S>::MicroGradient> kept_;
  Tensor<S, 1> flat_;
  Rng rng_;
  Rng::State epoch_start_rng_;
  int epoch_ = 0;
  long step_in_epoch_ = 0;
  bool stopped_ = false;
  double epoch_loss_sum_ = 0, epoch_seconds_ = 0;
  std::vector<EpochStats> history_;
};

}  // namespace ras::train
