// ras/autograd/var.hpp — Var<Scalar, Rank, Device>: the autograd handle. Copies alias one node
// holding the value, a lazily allocated gradient (zero-filled on first use, or written by the first
// contribution: grad_for_write) and requires_grad.
// record() is how an op attaches its backward closure to an output (see docs/adding-an-op.md).
#pragma once

#include <memory>
#include <utility>

#include "ras/autograd/tape.hpp"
#include "ras/kernels/elementwise.hpp"
#include "ras/tensor.hpp"

namespace ras::autograd {

template <class S, int R, class D = Cpu>
class Var {
 public:
  using Scalar = S;
  using Device = D;
  static constexpr int rank = R;
  using TensorType = Tensor<S, R, D>;

  struct Node {
    TensorType value;
    TensorType grad;  // empty until the first gradient arrives
    bool requires_grad = false;
  };

  Var() = default;
  explicit Var(TensorType value, bool requires_grad = false)
      : node_(std::make_shared<Node>()) {
    node_->value = std::move(value);
    node_->requires_grad = requires_grad;
  }
  // A trainable leaf.
  static Var parameter(TensorType value) { return Var(std::move(value), true); }

  bool defined() const { return node_ != nullptr; }
  const TensorType& value() const { return checked()->value; }
  // Mutable access for optimisers and loaders; do not change the shape of a recorded value.
  TensorType& value() { return checked()->value; }
  const Shape<R>& shape() const { return value().shape(); }
  Index dim(int i) const { return value().dim(i); }
  Index numel() const { return value().numel(); }

  bool requires_grad() const { return node_ && node_->requires_grad; }
  void set_requires_grad(bool on) { checked()->requires_grad = on; }

  bool has_grad() const { return node_ && !node_->grad.empty(); }
  // The gradient, allocated (zero-filled) on first access. Var is a handle (like shared_ptr):
  // a const handle still reaches the mutable gradient, which backward closures rely on.
  TensorType& grad() const {
    Node* n = checked();
    if (n->grad.empty()) n->grad = TensorType(n->value.shape());
    return n->grad;
  }
  // For a backward step that can write instead of add: (gradient, true) when it did not exist yet,
  // allocated uninitialised (the caller must then write every element), or (gradient, false) to
  // add into. Saves zero-filling each intermediate gradient before its first contribution.
  std::pair<TensorType&, bool> grad_for_write() const {
    Node* n = checked();
    const bool fresh = n->grad.empty();
    if (fresh) n->grad = TensorType::uninitialized(n->value.shape());
    return {n->grad, fresh};
  }
  // Sets an existing gradient to zero (keeps its memory); no-op when there is none.
  void zero_grad() const {
    if (has_grad()) node_->grad.fill(S(0));
  }
  void clear_grad() const {
    if (node_) node_->grad = TensorType();
  }
  // A new leaf holding a copy of the value, not connected to this variable's history.
  Var detach() const { return Var(value().clone(), false); }

  const std::shared_ptr<Node>& node() const { return node_; }

 private:
  Node* checked() const {
    RAS_CHECK(node_ != nullptr, "Var: use of an undefined (default-constructed) variable");
    return node_.get();
  }
  std::shared_ptr<Node> node_;
};

// True when an op with these inputs must record its backward step.
template <class... Vars>
inline bool needs_grad(const Vars&... inputs) {
  return grad_mode_enabled() && (inputs.requires_grad() || ...);
}

// Wraps a freshly computed value as an op output. Its requires_grad is set when recording.
template <class S, int R, class D, class... Inputs>
inline Var<S, R, D> make_output(Tensor<S, R, D> value, const Inputs&... inputs) {
  return Var<S, R, D>(std::move(value), needs_grad(inputs...));
}

// Attaches `backward` to `out`: during backward it is called as backward(grad_out) with the
// output's gradient tensor, and must ADD into the inputs' gradients (those that require grad).
// Does nothing unless `out` requires grad (see make_output).
template <class S, int R, class D, class F>
inline void record(const Var<S, R, D>& out, F&& backward) {
  if (!out.requires_grad()) return;
  std::weak_ptr<typename Var<S, R, D>::Node> weak = out.node();
  current_tape().record(weak, [weak, f = std::forward<F>(backward)]() mutable {
    auto node = weak.lock();
    if (node && !node->grad.empty()) f(static_cast<const Tensor<S, R, D>&>(node->grad));
  });
}

// Seeds d(out)/d(out) = cotangent (added to out's gradient), runs the tape, clears it.
template <class S, int R, class D>
inline void backward(Var<S, R, D>& out, const Tensor<S, R, D>& cotangent) {
  check_same_shape<R>(out.shape(), cotangent.shape(), "backward: cotangent");
  RAS_CHECK(out.requires_grad(), "backward: the output does not require grad (no recorded history)");
  auto& g = out.grad();
  kernels::axpy_acc<S, D>(g.numel(), S(1), cotangent.data(), g.data());
  current_tape().run_backward();
}

// backward for a single-element output (a loss): seeds 1.
template <class S, int R, class D>
inline void backward(Var<S, R, D>& loss) {
  RAS_CHECK(loss.numel() == 1, "backward: expected a one-element loss but got shape ",
            shape_string(loss.shape()), "; pass a cotangent for other outputs");
  backward(loss, Tensor<S, R, D>::full(loss.shape(), S(1)));
}

}  // namespace ras::autograd
