// ras/autograd/tape.hpp — the tape: a list of backward closures in recording (= topological)
// order, walked in reverse by backward(). One tape per thread; ops record onto it only when grad
// mode is on and some input requires grad, so frozen or inference work records nothing.
// Each step holds its output weakly: a step whose output nobody holds any more can receive no
// gradient and is pruned (with what it captured), so forward passes that are never
// back-propagated do not accumulate memory.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include "ras/config.hpp"

namespace ras::autograd {

class Tape {
 public:
  struct Step {
    std::weak_ptr<void> output;    // expired => the step can never receive a gradient
    std::function<void()> backward;  // adds the output's gradient into the inputs' gradients
  };

  void record(std::weak_ptr<void> output, std::function<void()> backward) {
    steps_.push_back(Step{std::move(output), std::move(backward)});
    if (steps_.size() >= 2 * size_after_prune_ + 64) prune();
  }

  // Runs every live step in reverse recording order, then clears the tape.
  // Outputs are pinned first: an intermediate output is often held only by a later step's closure,
  // and releasing that closure must not drop the node before its own step has run.
  void run_backward() {
    std::vector<std::shared_ptr<void>> pinned(steps_.size());
    for (std::size_t i = 0; i < steps_.size(); ++i) pinned[i] = steps_[i].output.lock();
    for (std::size_t i = steps_.size(); i-- > 0;) {
      if (pinned[i]) steps_[i].backward();
      steps_[i] = Step{};  // release captured activations as soon as they are used
      pinned[i].reset();
    }
    clear();
  }

  // Drops steps whose outputs have expired. Walking backwards lets one pass follow the cascade
  // (dropping a step releases its inputs, which may expire earlier steps' outputs).
  void prune() {
    for (std::size_t i = steps_.size(); i-- > 0;)
      if (steps_[i].output.expired()) steps_[i] = Step{};
    std::vector<Step> live;
    live.reserve(steps_.size());
    for (auto& s : steps_)
      if (s.backward) live.push_back(std::move(s));
    steps_ = std::move(live);
    size_after_prune_ = steps_.size();
  }

  void clear() {
    steps_.clear();
    size_after_prune_ = 0;
  }
  std::size_t size() const { return steps_.size(); }

 private:
  std::vector<Step> steps_;
  std::size_t size_after_prune_ = 0;
};

// The calling thread's tape.
inline Tape& current_tape() {
  thread_local Tape tape;
  return tape;
}

namespace detail {
inline bool& grad_mode_flag() {
  thread_local bool enabled = true;
  return enabled;
}
}  // namespace detail

// Whether ops record backward steps on this thread (true unless inside InferenceMode).
inline bool grad_mode_enabled() { return detail::grad_mode_flag(); }

// RAII: nothing is recorded while an InferenceMode object lives (like torch.inference_mode()).
class InferenceMode {
 public:
  InferenceMode() : previous_(detail::grad_mode_flag()) { detail::grad_mode_flag() = false; }
  ~InferenceMode() { detail::grad_mode_flag() = previous_; }
  InferenceMode(const InferenceMode&) = delete;
  InferenceMode& operator=(const InferenceMode&) = delete;

 private:
  bool previous_;
};

}  // namespace ras::autograd
