// ras/train/batch_parallel.hpp — forward and backward of one training batch, parallel over the batch
// (coarse grain) and deterministic: the result does not depend on the thread count or on timing.
//
//  * The batch is cut into a FIXED partition of micro-batches of `micro_batch` samples (the last one
//    may be shorter), independent of the thread count.
//  * Worker threads (ras::parallel_tasks) take micro-batches in order as they become free and run
//    forward + MSE + backward on them with single-threaded kernels. Each worker has its own model
//    replica: a deep copy whose parameter values are refreshed from the master model at every call,
//    so it owns the gradient buffers its backward adds into, and its own thread-local autograd tape.
//  * Micro-batch m's gradient is added into the master's gradients in the fixed order m = 0, 1, ...:
//    a worker that finishes micro-batch m when m is next in line adds its replica's gradients
//    directly; one that finishes out of order parks a copy in a slot, and whoever completes the gap
//    drains the parked slots in order. The master's gradient is therefore
//    ((g_0 + g_1) + g_2) + ... whatever the thread count, and a slow worker (say on a core another
//    process holds) never makes the others wait except for the brief ordered additions.
//  * The loss is the mean squared error over all elements of the batch: micro-batch m's mean is
//    weighted by n_m / B (backward is seeded with that weight), so the gradient is the batch mean's.
//  * The feature jitter comes as per-sample seeds (nn::FeatureJitter), so a sample's noise does not
//    depend on which micro-batch it lands in.
//  * Data-parallel training over processes runs a contiguous range of the micro-batches on each rank
//    (forward_backward_range), keeping their gradients apart where the sum over ranks needs them
//    (ras/dist/ordered_sum.hpp continues the same ordered sum across ranks).
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "ras/autograd/ops_reduce.hpp"
#include "ras/kernels/elementwise.hpp"
#include "ras/kernels/memory.hpp"
#include "ras/model/ras_model.hpp"
#include "ras/nn/module.hpp"
#include "ras/parallel.hpp"

namespace ras::train {

template <class S = float>
class BatchParallel {
 public:
  using Model = nn::RasReconstruction<S>;

  // micro_batch: samples per micro-batch (fixed: the results depend on it, not on threads);
  // threads: workers (0: Cpu::num_threads(); clamped to the machine's cores with a warning).
  BatchParallel(Model& master, Index micro_batch, int threads = 0)
      : master_(master), master_params_(nn::named_parameters<S>(master)), micro_(micro_batch), threads_(threads) {
    RAS_CHECK(micro_batch >= 1, "BatchParallel: micro-batch size must be >= 1 but got ", micro_batch);
    RAS_CHECK(threads >= 0, "BatchParallel: thread count must be >= 0 but got ", threads);
    for (const auto& p : master_params_) {
      offsets_.push_back(total_);
      total_ += p.numel;
    }
  }

  Index micro_batch() const { return micro_; }
  int threads() const { return threads_; }
  void set_threads(int threads) {
    RAS_CHECK(threads >= 0, "BatchParallel: thread count must be >= 0 but got ", threads);
    threads_ = threads;
  }
  // Workers used by the last call.
  int last_workers() const { return last_workers_; }

  // features: (N, C, h, w); idx: the batch's B sample indices into it; jitter: B per-sample seeds
  // (or not applied). Runs the master model's forward (in its current training mode) on the batch,
  // the MSE against the clean features, and backward: d(loss)/d(parameter) is ADDED into the
  // master's parameter gradients. Returns the loss (mean over all B*C*h*w elements).
  double forward_backward(const Tensor<S, 4>& features, std::span<const Index> idx, const nn::FeatureJitter& jitter) {
    const Index M = micro_batches(static_cast<Index>(idx.size()));
    const auto losses = forward_backward_range(features, idx, jitter, 0, M, nullptr);
    double total = 0;
    for (double l : losses) total += l;
    return total;
  }

  // The number of micro-batches of a batch of B samples.
  Index micro_batches(Index B) const { return (B + micro_ - 1) / micro_; }

  // One micro-batch's gradient of every parameter, flat at offsets() (present[i]: parameter i has one).
  struct MicroGradient {
    Tensor<S, 1> grads;          // (total_size(),)
    std::vector<char> present;   // (parameters,)
  };

  // Micro-batches [first, last) of the batch only (data-parallel training: each rank runs its own
  // range, ras/dist/ordered_sum.hpp sums the gradients in micro-batch order over ranks). Without
  // `keep`, their gradients are added into the master's in micro-batch order, as forward_backward
  // does; with it, the master is untouched and keep holds one MicroGradient per micro-batch, in
  // order (its buffers are reused from call to call). Returns the micro-batches' losses, each
  // weighted by n_m / B (their sum over all micro-batches is the batch's loss).
  std::vector<double> forward_backward_range(const Tensor<S, 4>& features, std::span<const Index> idx,
                                             const nn::FeatureJitter& jitter, Index first, Index last,
                                             std::vector<MicroGradient>* keep) {
    const Index B = static_cast<Index>(idx.size());
    RAS_CHECK(B >= 1, "BatchParallel: empty batch");
    const Index N = features.dim(0), row = features.dim(1) * features.dim(2) * features.dim(3);
    for (Index i : idx) RAS_CHECK(i >= 0 && i < N, "BatchParallel: sample index ", i, " out of range [0, ", N, ")");
    const Index M = micro_batches(B);
    RAS_CHECK(0 <= first && first <= last && last <= M, "BatchParallel: micro-batch range [", first, ", ", last,
              ") outside [0, ", M, ")");
    const Index count = last - first;
    std::vector<double> losses(static_cast<std::size_t>(count), 0.0);
    if (keep) {
      keep->resize(static_cast<std::size_t>(count));
      for (auto& k : *keep) {
        if (k.grads.numel() != total_) k.grads = Tensor<S, 1>::uninitialized({total_});
        k.present.assign(master_params_.size(), 0);
      }
    }
    if (count == 0) return losses;
    const int workers = parallel_workers(count, threads_);
    prepare_replicas(workers);
    last_workers_ = workers;

    std::vector<Slot> slots(static_cast<std::size_t>(count));
    Index next = 0;  // the next micro-batch (relative to first) whose gradient goes into the master (guarded by mutex)
    std::mutex mutex;
    // Adds parked slots into the master while the next one in line is ready. Holds `mutex`.
    auto drain = [&]() {
      while (next < count && slots[static_cast<std::size_t>(next)].ready) {
        auto& s = slots[static_cast<std::size_t>(next)];
        for (std::size_t i = 0; i < master_params_.size(); ++i)
          if (s.present[i]) add_to_master(i, s.grads.data() + offsets_[i]);
        s = Slot{};
        ++next;
      }
    };

    parallel_tasks(count, workers, [&](Index t, int w) {
      Model& model = *replicas_[static_cast<std::size_t>(w)];
      auto& params = replica_params_[static_cast<std::size_t>(w)];
      const Index m = first + t, b0 = m * micro_, n = std::min(micro_, B - b0);
      try {
        auto batch = Tensor<S, 4>::uninitialized({n, features.dim(1), features.dim(2), features.dim(3)});
        const auto index = Tensor<Index, 1>::from({n}, std::vector<Index>(idx.begin() + b0, idx.begin() + b0 + n));
        kernels::gather_rows<S, Cpu>(n, row, index.data(), features.data(), batch.data());
        auto rec = model(batch, jitter.samples(b0, n));
        autograd::Var<S, 4> target(std::move(batch));  // the forward copied what it needs
        auto loss = autograd::mse_loss(rec, target);
        const double weight = double(n) / double(B);
        losses[static_cast<std::size_t>(t)] = double(loss.value().item()) * weight;
        autograd::backward(loss, Tensor<S, 0>::full(Shape<0>{}, static_cast<S>(weight)));
      } catch (...) {
        autograd::current_tape().clear();
        dirty_ = true;
        throw;
      }
      if (keep) {
        auto& k = (*keep)[static_cast<std::size_t>(t)];
        for (std::size_t i = 0; i < params.size(); ++i)
          if (const S* g = params[i].grad()) {
            Cpu::copy(k.grads.data() + offsets_[i], g, static_cast<std::size_t>(params[i].numel) * sizeof(S));
            k.present[i] = 1;
          }
      } else {
        std::unique_lock<std::mutex> lock(mutex);
        if (t == next) {
          for (std::size_t i = 0; i < params.size(); ++i)
            if (const S* g = params[i].grad()) add_to_master(i, g);
          ++next;
          drain();
        } else {
          lock.unlock();
          Slot s;
          s.grads = Tensor<S, 1>::uninitialized({total_});
          s.present.assign(params.size(), 0);
          for (std::size_t i = 0; i < params.size(); ++i)
            if (const S* g = params[i].grad()) {
              Cpu::copy(s.grads.data() + offsets_[i], g, static_cast<std::size_t>(params[i].numel) * sizeof(S));
              s.present[i] = 1;
            }
          s.ready = true;
          lock.lock();
          slots[static_cast<std::size_t>(t)] = std::move(s);
          drain();
        }
      }
      for (auto& p : params)
        if (S* g = p.grad()) kernels::fill<S, Cpu>(p.numel, S(0), g);
    });
    RAS_CHECK(keep || next == count, "BatchParallel: internal error, ", count - next,
              " micro-batch gradients not reduced");
    return losses;
  }

  // The flat layout of every parameter's gradient (MicroGradient, ordered sums): parameter i at
  // [offsets()[i], offsets()[i] + numel); total_size() values in all.
  const std::vector<Index>& offsets() const { return offsets_; }
  Index total_size() const { return total_; }

 private:
  struct Slot {
    Tensor<S, 1> grads;          // every present gradient, flat at offsets_
    std::vector<char> present;   // per parameter: had a gradient
    bool ready = false;
  };

  // Makes `workers` replicas with the master's parameter values and training mode, zero gradients.
  void prepare_replicas(int workers) {
    while (static_cast<int>(replicas_.size()) < workers) {
      replicas_.push_back(std::make_unique<Model>(master_.config(), 0));
      replica_params_.push_back(nn::named_parameters<S>(*replicas_.back()));
      RAS_CHECK(replica_params_.back().size() == master_params_.size(), "BatchParallel: replica has ",
                replica_params_.back().size(), " parameters, the master ", master_params_.size());
    }
    for (int w = 0; w < workers; ++w) {
      auto& model = *replicas_[static_cast<std::size_t>(w)];
      model.set_training(master_.training());
      auto& params = replica_params_[static_cast<std::size_t>(w)];
      for (std::size_t i = 0; i < params.size(); ++i) {
        RAS_CHECK(params[i].numel == master_params_[i].numel, "BatchParallel: parameter ", master_params_[i].name,
                  " changed size");
        Cpu::copy(params[i].value, master_params_[i].value, static_cast<std::size_t>(params[i].numel) * sizeof(S));
      }
    }
    if (dirty_.exchange(false))
      for (auto& params : replica_params_)
        for (auto& p : params)
          if (S* g = p.grad()) kernels::fill<S, Cpu>(p.numel, S(0), g);
  }

  // master gradient of parameter i += g (single-threaded inside a worker)
  void add_to_master(std::size_t i, const S* g) {
    S* mg = master_params_[i].grad_or_zeros();
    kernels::axpy_acc<S, Cpu>(master_params_[i].numel, S(1), g, mg);
  }

  Model& master_;
  std::vector<nn::ParamRef<S>> master_params_;
  std::vector<Index> offsets_;
  Index total_ = 0;
  Index micro_;
  int threads_;
  int last_workers_ = 0;
  std::atomic<bool> dirty_{false};  // a failed call may have left gradients in replicas
  std::vector<std::unique_ptr<Model>> replicas_;
  std::vector<std::vector<nn::ParamRef<S>>> replica_params_;
};

}  // namespace ras::train
