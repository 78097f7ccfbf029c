// ras/nn/optim.hpp — optimisers over named parameter lists (ras::optim): Adam, AdamW and SGD with
// the device D of the parameters as a template argument (kernels/optim.hpp does the updates),
// momentum, with the update rules of torch.optim.Adam / AdamW / SGD (PyTorch 1.13, single-tensor
// path, amsgrad and maximize not supported), and clip_grad_norm as torch.nn.utils.clip_grad_norm_.
// Parameters come as std::vector<nn::ParamRef<S>> (nn::named_parameters(model)); a parameter
// without a gradient is skipped, as in PyTorch. Per-parameter state is keyed by the parameter's
// name and exposed for checkpoints: state_tensors() ("exp_avg.<param>", "exp_avg_sq.<param>",
// "momentum_buffer.<param>") and state_buffers() (the same plus the int64 "step.<param>" counters).
// ParamRefs point at the parameters' storage: load weights by copying into the values, not by
// replacing the tensors, while an optimiser holds them.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "ras/kernels/elementwise.hpp"
#include "ras/kernels/memory.hpp"
#include "ras/kernels/optim.hpp"
#include "ras/nn/module.hpp"

namespace ras::optim {

// Total 2-norm of all gradients; when it exceeds max_norm every gradient is scaled by
// max_norm / (total + 1e-6) (torch.nn.utils.clip_grad_norm_). Parameters without a gradient are
// ignored. Returns the total norm before clipping.
template <class S, class D = Cpu>
inline double clip_grad_norm(const std::vector<nn::ParamRef<S>>& params, double max_norm) {
  RAS_CHECK(max_norm >= 0.0, "clip_grad_norm: expected max_norm >= 0 but got ", max_norm);
  std::vector<std::pair<S*, Index>> grads;
  for (const auto& p : params)
    if (S* g = p.grad ? p.grad() : nullptr) grads.emplace_back(g, p.numel);
  double sum_sq = 0.0;
  for (auto [g, n] : grads) sum_sq += kernels::sum_squares<S, D>(n, g);
  const double total = std::sqrt(sum_sq);
  const double coef = max_norm / (total + 1e-6);
  if (coef < 1.0) {
    const S c = static_cast<S>(coef);
    for (auto [g, n] : grads) kernels::scale<S, D>(n, g, c, g);
  }
  return total;
}

namespace detail {

// Parameters, their per-parameter state tensors (flat, one per name in `state_names`) and
// int64 step counters. State is allocated (zero, step 0) at construction for parameters that
// require grad, and on the first step with a gradient for the others; zero state at step 0 is
// exactly PyTorch's freshly initialised state.
template <class S, class D>
class OptimizerBase {
 public:
  struct State {
    std::vector<Tensor<S, 1, D>> tensors;
    Tensor<std::int64_t, 0> step;
    bool allocated() const { return !step.empty(); }
  };

  const std::vector<nn::ParamRef<S>>& params() const { return params_; }

  // Sets every existing gradient to zero (to drop them instead, use nn::zero_grad(module)).
  void zero_grad() {
    for (auto& p : params_)
      if (S* g = p.grad ? p.grad() : nullptr) kernels::fill<S, D>(p.numel, S(0), g);
  }

  // Flat state tensors named "<state>.<param>" (e.g. "exp_avg.encoder.weight").
  std::vector<std::pair<std::string, Tensor<S, 1, D>*>> state_tensors() {
    std::vector<std::pair<std::string, Tensor<S, 1, D>*>> out;
    for (std::size_t i = 0; i < params_.size(); ++i) {
      if (!states_[i].allocated()) continue;
      for (std::size_t k = 0; k < state_names_.size(); ++k)
        out.emplace_back(state_names_[k] + "." + params_[i].name, &states_[i].tensors[k]);
    }
    return out;
  }

  // Type-erased state for serialisers: the state tensors with their parameter's shape and the
  // int64 rank-0 "step.<param>" counters.
  std::vector<nn::BufferRef> state_buffers() {
    std::vector<nn::BufferRef> out;
    for (std::size_t i = 0; i < params_.size(); ++i) {
      if (!states_[i].allocated()) continue;
      for (std::size_t k = 0; k < state_names_.size(); ++k)
        out.push_back(nn::BufferRef{state_names_[k] + "." + params_[i].name, params_[i].shape, dtype_v<S>,
                                    states_[i].tensors[k].data()});
      out.push_back(nn::BufferRef{"step." + params_[i].name, {}, DType::I64, states_[i].step.data()});
    }
    return out;
  }

  // Steps taken for one parameter (0 when it has no state yet).
  std::int64_t step_count(const std::string& param_name) const {
    for (std::size_t i = 0; i < params_.size(); ++i)
      if (params_[i].name == param_name) return states_[i].allocated() ? *states_[i].step.data() : 0;
    ::ras::detail::throw_error("step_count: no parameter named '", param_name, "' in this optimiser");
  }

 protected:
  OptimizerBase(std::vector<nn::ParamRef<S>> params, std::vector<std::string> state_names, const char* what)
      : params_(std::move(params)), states_(params_.size()), state_names_(std::move(state_names)) {
    std::set<std::string> seen;
    for (const auto& p : params_) {
      RAS_CHECK(p.value != nullptr, what, ": parameter '", p.name, "' has no storage");
      RAS_CHECK(seen.insert(p.name).second, what, ": expected unique parameter names but '", p.name,
                "' appears twice");
    }
    for (std::size_t i = 0; i < params_.size(); ++i)
      if (params_[i].requires_grad && params_[i].requires_grad()) allocate(i);
  }

  void allocate(std::size_t i) {
    State& s = states_[i];
    if (s.allocated()) return;
    s.tensors.clear();
    for (std::size_t k = 0; k < state_names_.size(); ++k) s.tensors.emplace_back(Shape<1>{params_[i].numel});
    s.step = Tensor<std::int64_t, 0>(Shape<0>{});
  }

  std::vector<nn::ParamRef<S>> params_;
  std::vector<State> states_;
  std::vector<std::string> state_names_;
};

}  // namespace detail

// Hyperparameters as in torch.optim.Adam (weight_decay is an L2 term added to the gradient).
struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;
};
// Hyperparameters as in torch.optim.AdamW (weight_decay is decoupled: p -= lr * wd * p).
struct AdamWOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 1e-2;
};

namespace detail {
// One Adam step; `decoupled` selects AdamW's weight decay.
template <class S, class D>
class AdamCore : public OptimizerBase<S, D> {
 public:
  void step() {
    for (std::size_t i = 0; i < this->params_.size(); ++i) {
      auto& p = this->params_[i];
      const S* g = p.grad ? p.grad() : nullptr;
      if (!g) continue;
      this->allocate(i);
      auto& st = this->states_[i];
      const std::int64_t t = ++*st.step.data();
      const double bc1 = 1.0 - std::pow(o_.beta1, static_cast<double>(t));
      const double bc2_sqrt = std::sqrt(1.0 - std::pow(o_.beta2, static_cast<double>(t)));
      kernels::AdamStepArgs<S> a;
      a.decay = static_cast<S>(1.0 - o_.lr * o_.weight_decay);
      a.l2 = static_cast<S>(o_.weight_decay);
      a.beta1 = static_cast<S>(o_.beta1);
      a.beta2 = static_cast<S>(o_.beta2);
      a.one_minus_beta1 = static_cast<S>(1.0 - o_.beta1);
      a.one_minus_beta2 = static_cast<S>(1.0 - o_.beta2);
      a.step_size = static_cast<S>(o_.lr / bc1);
      a.bias_correction2_sqrt = static_cast<S>(bc2_sqrt);
      a.eps = static_cast<S>(o_.eps);
      a.decoupled = decoupled_;
      a.has_weight_decay = o_.weight_decay != 0.0;
      kernels::adam_step<S, D>(p.numel, p.value, g, st.tensors[0].data(), st.tensors[1].data(), a);
    }
  }

  double lr() const { return o_.lr; }
  void set_lr(double lr) {
    RAS_CHECK(lr >= 0.0, "set_lr: expected a learning rate >= 0 but got ", lr);
    o_.lr = lr;
  }

 protected:
  AdamCore(std::vector<nn::ParamRef<S>> params, AdamOptions o, bool decoupled, const char* what)
      : OptimizerBase<S, D>(std::move(params), {"exp_avg", "exp_avg_sq"}, what), o_(o), decoupled_(decoupled) {
    RAS_CHECK(o.lr >= 0.0, what, ": expected lr >= 0 but got ", o.lr);
    RAS_CHECK(o.eps >= 0.0, what, ": expected eps >= 0 but got ", o.eps);
    RAS_CHECK(o.beta1 >= 0.0 && o.beta1 < 1.0 && o.beta2 >= 0.0 && o.beta2 < 1.0, what,
              ": expected betas in [0, 1) but got (", o.beta1, ", ", o.beta2, ")");
    RAS_CHECK(o.weight_decay >= 0.0, what, ": expected weight_decay >= 0 but got ", o.weight_decay);
  }
  AdamOptions o_;
  bool decoupled_;
};
}  // namespace detail

// torch.optim.Adam: g += wd * p; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
// p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps).
template <class S, class D = Cpu>
class Adam : public detail::AdamCore<S, D> {
 public:
  explicit Adam(std::vector<nn::ParamRef<S>> params, AdamOptions o = {})
      : detail::AdamCore<S, D>(std::move(params), o, false, "Adam") {}
};

// torch.optim.AdamW: p *= 1 - lr * wd first, then the Adam update without the L2 term.
template <class S, class D = Cpu>
class AdamW : public detail::AdamCore<S, D> {
 public:
  explicit AdamW(std::vector<nn::ParamRef<S>> params, AdamWOptions o = {})
      : detail::AdamCore<S, D>(std::move(params), AdamOptions{o.lr, o.beta1, o.beta2, o.eps, o.weight_decay}, true,
                            "AdamW") {}
};

// Hyperparameters as in torch.optim.SGD.
struct SGDOptions {
  double lr = 1e-2;
  double momentum = 0.0;
  double dampening = 0.0;
  double weight_decay = 0.0;
  bool nesterov = false;
};

// torch.optim.SGD: d = g + wd * p; buf = d on the first step, else buf = mu buf + (1 - dampening) d;
// d = nesterov ? d + mu buf : buf; p -= lr d. State "momentum_buffer.<param>" (when momentum != 0)
// and "step.<param>" (ras keeps the count to know when the buffer starts; PyTorch keeps none).
template <class S, class D = Cpu>
class SGD : public detail::OptimizerBase<S, D> {
 public:
  explicit SGD(std::vector<nn::ParamRef<S>> params, SGDOptions o = {})
      : detail::OptimizerBase<S, D>(std::move(params),
                                 o.momentum != 0.0 ? std::vector<std::string>{"momentum_buffer"}
                                                   : std::vector<std::string>{},
                                 "SGD"),
        o_(o) {
    RAS_CHECK(o.lr >= 0.0, "SGD: expected lr >= 0 but got ", o.lr);
    RAS_CHECK(o.momentum >= 0.0, "SGD: expected momentum >= 0 but got ", o.momentum);
    RAS_CHECK(o.weight_decay >= 0.0, "SGD: expected weight_decay >= 0 but got ", o.weight_decay);
    RAS_CHECK(!o.nesterov || (o.momentum > 0.0 && o.dampening == 0.0),
              "SGD: nesterov needs momentum > 0 and dampening 0 but got momentum ", o.momentum,
              ", dampening ", o.dampening);
  }

  void step() {
    for (std::size_t i = 0; i < this->params_.size(); ++i) {
      auto& p = this->params_[i];
      const S* g = p.grad ? p.grad() : nullptr;
      if (!g) continue;
      this->allocate(i);
      auto& st = this->states_[i];
      const bool first = *st.step.data() == 0;
      ++*st.step.data();
      kernels::SgdStepArgs<S> a;
      a.lr = static_cast<S>(o_.lr);
      a.weight_decay = static_cast<S>(o_.weight_decay);
      a.momentum = static_cast<S>(o_.momentum);
      a.one_minus_dampening = static_cast<S>(1.0 - o_.dampening);
      a.has_momentum = o_.momentum != 0.0;
      a.nesterov = o_.nesterov;
      a.first_step = first;
      kernels::sgd_step<S, D>(p.numel, p.value, g, a.has_momentum ? st.tensors[0].data() : nullptr, a);
    }
  }

  double lr() const { return o_.lr; }
  void set_lr(double lr) {
    RAS_CHECK(lr >= 0.0, "set_lr: expected a learning rate >= 0 but got ", lr);
    o_.lr = lr;
  }

 private:
  SGDOptions o_;
};

}  // namespace ras::optim
