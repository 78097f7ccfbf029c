// ras/train/trainer.hpp — unified RAS training on cached features (train_val.py of the reference):
// AdamW (lr 7e-4, weight decay 1e-4 on every parameter), batch 64, total-norm gradient clipping
// at 0.1, constant learning rate, seeded shuffling and feature jitter. Each step runs forward and
// backward parallel over the batch in fixed micro-batches (train/batch_parallel.hpp): the weights do
// not depend on the thread count. Checkpoints hold the parameters, AdamW state, configuration,
// epoch/step and RNG state, are written atomically, and resuming from one reproduces the
// uninterrupted run exactly (with any thread count).
#pragma once

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>

#include "ras/autograd/ops_reduce.hpp"
#include "ras/io/safetensors.hpp"
#include "ras/io/state_dict.hpp"
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
  // Each batch is split into micro-batches of this many samples, run in parallel over `threads`
  // workers (train/batch_parallel.hpp). The weights after a step depend on micro_batch (the order
  // in which per-micro-batch gradients are summed) but not on the thread count.
  Index micro_batch = 8;
  int threads = 0;                   // 0: Cpu::num_threads(); clamped to the machine's cores
};

struct EpochStats {
  int epoch = 0;
  double mean_loss = 0;
  double seconds = 0;
};

namespace detail {
inline std::string rng_state_string(const Rng::State& s) {
  std::ostringstream o;
  o << s[0] << ' ' << s[1] << ' ' << s[2] << ' ' << s[3];
  return o.str();
}
inline Rng::State parse_rng_state(const std::string& text) {
  std::istringstream in(text);
  Rng::State s{};
  for (auto& v : s) RAS_CHECK(static_cast<bool>(in >> v), "checkpoint: malformed RNG state '", text, "'");
  return s;
}
inline const std::string& meta(const std::map<std::string, std::string>& m, const std::string& key) {
  auto it = m.find(key);
  RAS_CHECK(it != m.end(), "checkpoint: metadata has no '", key, "'");
  return it->second;
}
}  // namespace detail

template <class S = float>
class Trainer {
 public:
  using Model = nn::RasReconstruction<S>;
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
  }

  int epoch() const { return epoch_; }
  long step_in_epoch() const { return step_in_epoch_; }
  Index steps_per_epoch() const { return (features_.dim(0) + opt_.batch_size - 1) / opt_.batch_size; }
  const std::vector<EpochStats>& history() const { return history_; }
  // Called after every finished epoch (e.g. periodic evaluation); the model is in training mode after.
  std::function<void(const EpochStats&)> on_epoch_end;

  // One optimisation step on the samples `idx`; returns the loss (mean squared error over the batch).
  // The jitter is drawn from the trainer's Rng as one seed per sample (nn::RasReconstruction::draw_jitter).
  double train_step(const std::vector<Index>& idx) {
    model_.set_training(true);
    const auto jitter = model_.draw_jitter(rng_, static_cast<Index>(idx.size()));
    nn::zero_grad(model_);
    const double value = parallel_.forward_backward(features_, idx, jitter.view());
    if (opt_.clip_norm > 0) optim::clip_grad_norm(params_, opt_.clip_norm);
    adamw_.step();
    nn::zero_grad(model_);
    return value;
  }
  // Workers the last step used.
  int last_step_workers() const { return parallel_.last_workers(); }

  // Trains from the current state up to options.epochs. Returns false when stopped early by
  // stop_after_steps (a simulated kill), true when all epochs are done.
  bool run() {
    long steps_this_run = 0;
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
        const Index begin = step_in_epoch_ * opt_.batch_size, end = std::min(N, begin + opt_.batch_size);
        std::vector<Index> idx(order.begin() + begin, order.begin() + end);
        const auto t0 = std::chrono::steady_clock::now();
        const double loss = train_step(idx);
        epoch_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        epoch_loss_sum_ += loss * double(end - begin);
        ++step_in_epoch_;
        ++steps_this_run;
        if (opt_.progress) {
          char status[96];
          std::snprintf(status, sizeof status, "loss %.5f %.1f img/s", loss,
                        double(begin + (end - begin)) / std::max(epoch_seconds_, 1e-9));
          bar.update(static_cast<long>(step_in_epoch_), status);
        }
        if (!opt_.checkpoint.empty() && opt_.checkpoint_every_steps > 0 &&
            step_in_epoch_ % opt_.checkpoint_every_steps == 0 && step_in_epoch_ < steps_per_epoch())
          save_checkpoint(opt_.checkpoint);
      }
      EpochStats stats{epoch_ + 1, epoch_loss_sum_ / double(N), epoch_seconds_};
      history_.push_back(stats);
      ++epoch_;
      step_in_epoch_ = 0;
      epoch_start_rng_ = rng_.state();
      if (!opt_.checkpoint.empty()) save_checkpoint(opt_.checkpoint);
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
    io::add_state_dict(w, model_, std::string(prefix) + ".");
    for (const auto& b : adamw_.state_buffers()) {
      const std::string name = "optim." + b.name;
      if (b.dtype == DType::I64) w.add(name, static_cast<const std::int64_t*>(b.data), b.shape);
      else w.add(name, static_cast<const S*>(b.data), b.shape);
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

  // Restores everything save_checkpoint wrote. The model configuration must match.
  void load_checkpoint(const std::filesystem::path& path) {
    io::SafetensorsFile file(path);
    const auto& m = file.metadata();
    const nn::RasConfig saved = nn::config_from_metadata(m);
    RAS_CHECK(nn::to_metadata(saved) == nn::to_metadata(model_.config()),
              "resume: the checkpoint ", path.string(), " was trained with another model configuration");
    RAS_CHECK(std::stoll(detail::meta(m, "train.batch_size")) == opt_.batch_size,
              "resume: checkpoint batch size ", detail::meta(m, "train.batch_size"), " but this run uses ",
              opt_.batch_size);
    if (m.count("train.micro_batch"))
      RAS_CHECK(std::stoll(detail::meta(m, "train.micro_batch")) == opt_.micro_batch, "resume: checkpoint micro-batch ",
                detail::meta(m, "train.micro_batch"), " but this run uses ", opt_.micro_batch,
                " (the weights depend on it)");
    io::LoadOptions lo;
    lo.strict = true;
    lo.prefix = std::string(prefix) + ".";
    io::load_state_dict(model_, file, lo);
    for (const auto& b : adamw_.state_buffers()) {
      const std::string name = "optim." + b.name;
      RAS_CHECK(file.has(name), "resume: checkpoint ", path.string(), " has no optimiser state '", name, "'");
      file.get_into(name, b.dtype, b.data, b.shape);
    }
    epoch_ = std::stoi(detail::meta(m, "train.epoch"));
    step_in_epoch_ = std::stol(detail::meta(m, "train.step_in_epoch"));
    epoch_start_rng_ = detail::parse_rng_state(detail::meta(m, "train.rng_epoch_start"));
    rng_.set_state(detail::parse_rng_state(detail::meta(m, "train.rng")));
    epoch_loss_sum_ = std::stod(detail::meta(m, "train.loss_sum"));
    history_.clear();
    std::istringstream hist(detail::meta(m, "train.history"));
    std::string item;
    while (std::getline(hist, item, ';')) {
      EpochStats s;
      if (std::sscanf(item.c_str(), "%d:%lf:%lf", &s.epoch, &s.mean_loss, &s.seconds) == 3) history_.push_back(s);
    }
  }

 private:
  Model& model_;
  const Tensor<S, 4>& features_;
  TrainOptions opt_;
  std::vector<nn::ParamRef<S>> params_;
  optim::AdamW<S> adamw_;
  BatchParallel<S> parallel_;
  Rng rng_;
  Rng::State epoch_start_rng_;
  int epoch_ = 0;
  long step_in_epoch_ = 0;
  double epoch_loss_sum_ = 0, epoch_seconds_ = 0;
  std::vector<EpochStats> history_;
};

}  // namespace ras::train
