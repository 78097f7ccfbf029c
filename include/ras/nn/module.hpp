// ras/nn/module.hpp — the module protocol. A module is any class with
//
//   template <class V> void visit(V& v) {
//     v.param("weight", weight);          // ras::autograd::Var<S, R, D>: trainable parameter
//     v.buffer("running_mean", mean);     // ras::Tensor<T, R, D>, T any dtype: saved, never trained
//     v.module("_bn0", bn0);              // a sub-module
//     v.modules("layers", layers);        // std::vector of modules: names "layers.0.", "layers.1.", ...
//   }
//
// and, if its behaviour depends on the mode, `void set_training(bool)`. One walk names every
// parameter and buffer with the dotted names PyTorch's state_dict() gives them, and drives
// parameter listing, train/eval, freezing, the optimisers and save/load (mirrors
// torch.nn.Module.named_parameters / named_buffers / train / requires_grad_).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "ras/autograd/var.hpp"
#include "ras/dtype.hpp"

namespace ras::nn {

// A rank-erased reference to one parameter (Scalar S) of a module.
template <class S>
struct ParamRef {
  std::string name;              // dotted PyTorch name, e.g. "encoder.layers.0.linear1.weight"
  std::vector<Index> shape;
  Index numel = 0;
  S* value = nullptr;            // the parameter's data (row-major)
  std::function<bool()> requires_grad;
  std::function<void(bool)> set_requires_grad;
  std::function<S*()> grad;      // nullptr when no gradient has been accumulated
  std::function<S*()> grad_or_zeros;  // allocates a zero gradient when there is none
};

// A rank- and type-erased reference to one buffer (running statistics, counters, ...).
struct BufferRef {
  std::string name;
  std::vector<Index> shape;
  DType dtype = DType::F32;
  void* data = nullptr;
};

namespace detail {
template <class M>
concept HasSetTraining = requires(M& m) { m.set_training(true); };

inline std::string join_name(const std::string& prefix, const std::string& name) {
  return prefix.empty() ? name : prefix + "." + name;
}

// Walks a module tree and calls on_param(name, var) / on_buffer(name, tensor) / on_module(m).
template <class OnParam, class OnBuffer, class OnModule>
class Walker {
 public:
  Walker(OnParam& p, OnBuffer& b, OnModule& m, std::string prefix)
      : on_param_(p), on_buffer_(b), on_module_(m), prefix_(std::move(prefix)) {}

  template <class S, int R, class D>
  void param(const std::string& name, autograd::Var<S, R, D>& var) {
    RAS_CHECK(var.defined(), "module parameter ", join_name(prefix_, name), " is undefined");
    on_param_(join_name(prefix_, name), var);
  }
  template <class T, int R, class D>
  void buffer(const std::string& name, Tensor<T, R, D>& t) {
    on_buffer_(join_name(prefix_, name), t);
  }
  template <class M>
  void module(const std::string& name, M& m) {
    walk(m, join_name(prefix_, name));
  }
  template <class M>
  void modules(const std::string& name, std::vector<M>& list) {
    for (std::size_t i = 0; i < list.size(); ++i)
      walk(list[i], join_name(join_name(prefix_, name), std::to_string(i)));
  }
  template <class M>
  void walk(M& m, const std::string& prefix) {
    on_module_(m);
    Walker sub(on_param_, on_buffer_, on_module_, prefix);
    m.visit(sub);
  }

 private:
  OnParam& on_param_;
  OnBuffer& on_buffer_;
  OnModule& on_module_;
  std::string prefix_;
};
}  // namespace detail

// Visits the module tree rooted at `m` (prefix prepended to all names).
template <class M, class OnParam, class OnBuffer, class OnModule>
inline void walk_module(M& m, OnParam on_param, OnBuffer on_buffer, OnModule on_module,
                        const std::string& prefix = "") {
  detail::Walker<OnParam, OnBuffer, OnModule> w(on_param, on_buffer, on_module, prefix);
  w.walk(m, prefix);
}

// Every parameter of Scalar type S, in registration order, with PyTorch's dotted names.
template <class S, class M>
inline std::vector<ParamRef<S>> named_parameters(M& m, const std::string& prefix = "") {
  std::vector<ParamRef<S>> out;
  walk_module(
      m,
      [&](const std::string& name, auto& var) {
        using V = std::decay_t<decltype(var)>;
        if constexpr (std::is_same_v<typename V::Scalar, S>) {
          ParamRef<S> ref;
          ref.name = name;
          ref.shape.assign(var.shape().begin(), var.shape().end());
          ref.numel = var.numel();
          ref.value = var.value().data();
          V handle = var;
          ref.requires_grad = [handle] { return handle.requires_grad(); };
          ref.set_requires_grad = [handle](bool on) mutable { handle.set_requires_grad(on); };
          ref.grad = [handle]() mutable -> S* { return handle.has_grad() ? handle.grad().data() : nullptr; };
          ref.grad_or_zeros = [handle]() mutable -> S* { return handle.grad().data(); };
          out.push_back(std::move(ref));
        }
      },
      [](const std::string&, auto&) {}, [](auto&) {}, prefix);
  return out;
}

// Every buffer, in registration order.
template <class M>
inline std::vector<BufferRef> named_buffers(M& m, const std::string& prefix = "") {
  std::vector<BufferRef> out;
  walk_module(
      m, [](const std::string&, auto&) {},
      [&](const std::string& name, auto& t) {
        using T = typename std::decay_t<decltype(t)>::Scalar;
        BufferRef ref;
        ref.name = name;
        ref.shape.assign(t.shape().begin(), t.shape().end());
        ref.dtype = dtype_v<T>;
        ref.data = t.data();
        out.push_back(std::move(ref));
      },
      [](auto&) {}, prefix);
  return out;
}

// Sets training mode on every module that has set_training (torch's module.train(on)).
template <class M>
inline void set_training(M& m, bool on) {
  walk_module(
      m, [](const std::string&, auto&) {}, [](const std::string&, auto&) {},
      [on](auto& sub) {
        if constexpr (detail::HasSetTraining<std::decay_t<decltype(sub)>>) sub.set_training(on);
      });
}
template <class M>
inline void train(M& m) { set_training(m, true); }
template <class M>
inline void eval(M& m) { set_training(m, false); }

// requires_grad_(false) on every parameter: a frozen module records nothing on the tape.
template <class M>
inline void set_requires_grad(M& m, bool on) {
  walk_module(
      m, [on](const std::string&, auto& var) { var.set_requires_grad(on); },
      [](const std::string&, auto&) {}, [](auto&) {});
}
template <class M>
inline void freeze(M& m) { set_requires_grad(m, false); }

// Number of parameter elements (all, or only those that require grad).
template <class M>
inline Index count_parameters(M& m, bool trainable_only = false) {
  Index n = 0;
  walk_module(
      m,
      [&](const std::string&, auto& var) {
        if (!trainable_only || var.requires_grad()) n += var.numel();
      },
      [](const std::string&, auto&) {}, [](auto&) {});
  return n;
}

// Drops every parameter gradient (optimisers call this as zero_grad(set_to_none=True)).
template <class M>
inline void zero_grad(M& m) {
  walk_module(
      m, [](const std::string&, auto& var) { var.clear_grad(); }, [](const std::string&, auto&) {},
      [](auto&) {});
}

}  // namespace ras::nn
