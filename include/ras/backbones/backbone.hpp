// ras/backbones/backbone.hpp — the common interface of the frozen CNN backbones (EfficientNet, MobileNetV2):
// features(x) returns the tapped feature levels, neck(x) their MFCN concatenation (backbones/neck.hpp).
// Backbones always run in eval mode (BatchNorm on running statistics, as UniAD's ModelHelper
// forces) inside InferenceMode (no tape), a chunk of images at a time (default one), and stop
// computing after the last tap. Also TensorFlow "SAME" padding (EfficientNet's static padding
// and the TF MobileNetV2 both use it).
#pragma once

#include <algorithm>
#include <array>
#include <string>
#include <vector>

#include "ras/design_extents.hpp"
#include "ras/nn/module.hpp"
#include "ras/backbones/neck.hpp"

namespace ras::nn {

// TensorFlow "SAME" padding along one axis: total = max((ceil(in / s) - 1) * s + (k - 1) * d + 1 - in, 0),
// split {begin = total / 2, end = total - begin} (the extra pixel at the end: bottom / right).
inline std::array<Index, 2> same_padding(Index in, Index kernel, Index stride, Index dilation = 1) {
  RAS_CHECK(in >= 1 && kernel >= 1 && stride >= 1 && dilation >= 1,
            "same_padding: expected positive sizes but got in=", in, " kernel=", kernel, " stride=", stride,
            " dilation=", dilation);
  const Index out = (in + stride - 1) / stride;
  const Index total = std::max<Index>((out - 1) * stride + (kernel - 1) * dilation + 1 - in, 0);
  return {total / 2, total - total / 2};
}

// Conv2dArgs with TF-SAME padding for an in_h x in_w input.
inline kernels::Conv2dArgs same_conv_args(Index in_h, Index in_w, Index kernel, Index stride, Index groups = 1) {
  const auto ph = same_padding(in_h, kernel, stride), pw = same_padding(in_w, kernel, stride);
  kernels::Conv2dArgs a;
  a.stride_h = a.stride_w = stride;
  a.pad_top = ph[0], a.pad_bottom = ph[1], a.pad_left = pw[0], a.pad_right = pw[1];
  a.groups = groups;
  return a;
}

// The input normalisation a backbone's weights expect (io::Normalization has the same names):
// imagenet = (v / 255 - mean) / std with ImageNet mean/std; symmetric = v / 127.5 - 1.
enum class InputNormalization { imagenet, symmetric };

struct InputPreset {
  InputNormalization normalization = InputNormalization::imagenet;
  Index image_size = 224;  // the RAS input resolution (PIL bilinear resize to image_size^2)
};

// The shared part of every backbone, as a CRTP base (no virtual functions: the backbone chosen at
// run time is a std::variant, pipeline/backbones.hpp). Derived supplies
//   std::string name() const; std::vector<Index> tap_channels() const, tap_strides() const;
//   InputPreset input_preset() const;
//   std::vector<VarT> forward_taps(const VarT& x)   one chunk (n, 3, H, W) -> the tapped levels,
//                                                   called in eval mode inside InferenceMode;
//   void set_eval()                                 every BatchNorm in eval mode.
template <class Derived, class S, class D = Cpu>
class BackboneBase {
 public:
  using VarT = autograd::Var<S, 4, D>;
  using TensorT = Tensor<S, 4, D>;

  // Channels of the neck output (sum over levels): 272 for EfficientNet-B4, 168 for MobileNetV2.
  Index neck_channels() const {
    Index c = 0;
    for (Index ci : self().tap_channels()) c += ci;
    return c;
  }

  // Images per forward pass (1: image by image, the fastest on CPU for these memory-bound nets).
  Index chunk_size = 1;

  // x: (N, 3, H, W) -> level l: (N, C_l, H_l, W_l) (H_l = ceil(H / stride_l) for TF-SAME nets)
  std::vector<TensorT> features(const TensorT& x) {
    std::vector<TensorT> out;
    run_chunks(x, [&](std::vector<VarT>& taps, Index n0, Index N) {
      if (out.empty())
        for (auto& t : taps) out.push_back(TensorT::uninitialized({N, t.dim(1), t.dim(2), t.dim(3)}));
      for (std::size_t l = 0; l < taps.size(); ++l) out[l].set_rows(n0, taps[l].value());
    });
    return out;
  }

  // Images typed as ImageBatch: a ShapedTensor whose fixed extents are not (N, 3, H, W) does not compile.
  template <class Ext>
  std::vector<TensorT> features(const ShapedTensor<S, Ext, D>& x) {
    static_assert(extents_compatible<Ext, ImageExtents>, "backbone: expected images of extents (N, 3, H, W)");
    return features(x.tensor());
  }
  template <class Ext>
  TensorT neck(const ShapedTensor<S, Ext, D>& x) {
    static_assert(extents_compatible<Ext, ImageExtents>, "backbone: expected images of extents (N, 3, H, W)");
    return neck(x.tensor());
  }

  // x: (N, 3, H, W) -> (N, neck_channels(), H_L, W_L), H_L the last level's grid (14 at 224)
  TensorT neck(const TensorT& x) {
    TensorT out;
    run_chunks(x, [&](std::vector<VarT>& taps, Index n0, Index N) {
      auto y = mfcn_neck(taps);
      if (out.empty()) out = TensorT::uninitialized({N, y.dim(1), y.dim(2), y.dim(3)});
      out.set_rows(n0, y.value());
    });
    return out;
  }

 private:
  Derived& self() { return static_cast<Derived&>(*this); }
  const Derived& self() const { return static_cast<const Derived&>(*this); }

  template <class F>
  void run_chunks(const TensorT& x, F&& consume) {
    RAS_CHECK(x.dim(0) >= 1 && x.dim(1) == 3 && x.dim(2) >= 1 && x.dim(3) >= 1, self().name(),
              ": expected input of shape (N, 3, H, W) with N, H, W >= 1 but got ", shape_string(x.shape()));
    RAS_CHECK(chunk_size >= 1, self().name(), ": expected chunk_size >= 1 but got ", chunk_size);
    autograd::InferenceMode no_tape;
    self().set_eval();
    const Index N = x.dim(0);
    for (Index n0 = 0; n0 < N; n0 += chunk_size) {
      const Index n = std::min(chunk_size, N - n0);
      auto taps = self().forward_taps(VarT(x.slice_rows(n0, n)));
      consume(taps, n0, N);
    }
  }
};

}  // namespace ras::nn
