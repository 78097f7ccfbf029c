// ras/kernels/ops.hpp — the list of kernels: one tag type per kernel (op::Add, op::Gemm, ...) with its
// name. Front-end functions (kernels/*.hpp) dispatch a tag to the device's backend (kernels/backend.hpp);
// every backend implements run_kernel(Tag, op::X, ...) for each tag. The parity harness
// (tests/test_backend_parity.cpp) walks AllKernels and fails when a kernel has no parity case.
#pragma once

#include <array>
#include <string_view>
#include <type_traits>

namespace ras::kernels {

namespace op {
#define RAS_KERNEL(Tag, str) \
  struct Tag {                     \
    static constexpr std::string_view name = str; \
  };
// elementwise
RAS_KERNEL(Add, "add")
RAS_KERNEL(Sub, "sub")
RAS_KERNEL(Mul, "mul")
RAS_KERNEL(Div, "div")
RAS_KERNEL(AddScalar, "add_scalar")
RAS_KERNEL(Scale, "scale")
RAS_KERNEL(AxpyAcc, "axpy_acc")
RAS_KERNEL(SubAcc, "sub_acc")
RAS_KERNEL(MulAcc, "mul_acc")
RAS_KERNEL(DivAcc, "div_acc")
RAS_KERNEL(DivBackwardBAcc, "div_backward_b_acc")
RAS_KERNEL(ReluForward, "relu_forward")
RAS_KERNEL(ReluBackwardAcc, "relu_backward_acc")
RAS_KERNEL(Relu6Forward, "relu6_forward")
RAS_KERNEL(Relu6BackwardAcc, "relu6_backward_acc")
RAS_KERNEL(SigmoidForward, "sigmoid_forward")
RAS_KERNEL(SigmoidBackwardAcc, "sigmoid_backward_acc")
RAS_KERNEL(SiluForward, "silu_forward")
RAS_KERNEL(SiluBackwardAcc, "silu_backward_acc")
RAS_KERNEL(SqrtForward, "sqrt_forward")
RAS_KERNEL(SqrtBackwardAcc, "sqrt_backward_acc")
RAS_KERNEL(ChannelAdd, "channel_add")
RAS_KERNEL(ChannelMul, "channel_mul")
RAS_KERNEL(ChannelMulAcc, "channel_mul_acc")
RAS_KERNEL(ChannelSumAcc, "channel_sum_acc")
// reduce
RAS_KERNEL(SumAll, "sum_all")
RAS_KERNEL(SquaredDiffSum, "squared_diff_sum")
RAS_KERNEL(SumAxis, "sum_axis")
RAS_KERNEL(BroadcastAxisAcc, "broadcast_axis_acc")
RAS_KERNEL(SoftmaxForward, "softmax_forward")
RAS_KERNEL(SoftmaxBackwardAcc, "softmax_backward_acc")
RAS_KERNEL(L2NormForward, "l2_norm_forward")
RAS_KERNEL(L2NormBackwardAcc, "l2_norm_backward_acc")
RAS_KERNEL(CountNonFinite, "count_non_finite")
// gemm
RAS_KERNEL(AttentionForward, "attention_forward")
RAS_KERNEL(AttentionBackwardAcc, "attention_backward_acc")
RAS_KERNEL(Gemm, "gemm")
RAS_KERNEL(GemmBatched, "gemm_batched")
// conv2d
RAS_KERNEL(Conv2dForward, "conv2d_forward")
RAS_KERNEL(Conv2dBackwardData, "conv2d_backward_data")
RAS_KERNEL(Conv2dBackwardWeight, "conv2d_backward_weight")
RAS_KERNEL(Conv2dBackwardBias, "conv2d_backward_bias")
// depthwise
RAS_KERNEL(DepthwiseConv2dForward, "depthwise_conv2d_forward")
RAS_KERNEL(DepthwiseConv2dBackwardData, "depthwise_conv2d_backward_data")
RAS_KERNEL(DepthwiseConv2dBackwardWeight, "depthwise_conv2d_backward_weight")
// norm
RAS_KERNEL(BatchNormStatistics, "batch_norm_statistics")
RAS_KERNEL(BatchNormForward, "batch_norm_forward")
RAS_KERNEL(BatchNormBackward, "batch_norm_backward")
RAS_KERNEL(LayerNormForward, "layer_norm_forward")
RAS_KERNEL(LayerNormBackward, "layer_norm_backward")
// pool
RAS_KERNEL(AvgPool2dForward, "avg_pool2d_forward")
RAS_KERNEL(AvgPool2dBackward, "avg_pool2d_backward")
// resample
RAS_KERNEL(InterpolateBilinearForward, "interpolate_bilinear_forward")
RAS_KERNEL(InterpolateBilinearBackward, "interpolate_bilinear_backward")
// memory
RAS_KERNEL(Fill, "fill")
RAS_KERNEL(Tile, "tile")
RAS_KERNEL(GatherRows, "gather_rows")
RAS_KERNEL(ScatterAddRows, "scatter_add_rows")
// layout
RAS_KERNEL(PermuteGather, "permute_gather")
RAS_KERNEL(PermuteScatterAcc, "permute_scatter_acc")
RAS_KERNEL(AxisBlockCopy, "axis_block_copy")
// norm
RAS_KERNEL(BatchNormFinalize, "batch_norm_finalize")
// optim
RAS_KERNEL(AdamStep, "adam_step")
RAS_KERNEL(SgdStep, "sgd_step")
RAS_KERNEL(SumSquares, "sum_squares")
// model
RAS_KERNEL(JitterAdd, "jitter_add")
RAS_KERNEL(ChannelDistance, "channel_distance")
RAS_KERNEL(RowMax, "row_max")
#undef RAS_KERNEL
}  // namespace op

template <class... Ops>
struct KernelList {
  static constexpr std::size_t size = sizeof...(Ops);
  static constexpr std::array<std::string_view, sizeof...(Ops)> names = {Ops::name...};
  template <class Op>
  static constexpr bool contains = (std::is_same_v<Op, Ops> || ...);
};

// Every kernel of the library. A kernel missing here cannot be dispatched (static_assert in dispatch).
using AllKernels = KernelList<
    op::Add,
    op::Sub,
    op::Mul,
    op::Div,
    op::AddScalar,
    op::Scale,
    op::AxpyAcc,
    op::SubAcc,
    op::MulAcc,
    op::DivAcc,
    op::DivBackwardBAcc,
    op::ReluForward,
    op::ReluBackwardAcc,
    op::Relu6Forward,
    op::Relu6BackwardAcc,
    op::SigmoidForward,
    op::SigmoidBackwardAcc,
    op::SiluForward,
    op::SiluBackwardAcc,
    op::SqrtForward,
    op::SqrtBackwardAcc,
    op::ChannelAdd,
    op::ChannelMul,
    op::ChannelMulAcc,
    op::ChannelSumAcc,
    op::SumAll,
    op::SquaredDiffSum,
    op::SumAxis,
    op::BroadcastAxisAcc,
    op::SoftmaxForward,
    op::SoftmaxBackwardAcc,
    op::L2NormForward,
    op::L2NormBackwardAcc,
    op::CountNonFinite,
    op::AttentionForward,
    op::AttentionBackwardAcc,
    op::Gemm,
    op::GemmBatched,
    op::Conv2dForward,
    op::Conv2dBackwardData,
    op::Conv2dBackwardWeight,
    op::Conv2dBackwardBias,
    op::DepthwiseConv2dForward,
    op::DepthwiseConv2dBackwardData,
    op::DepthwiseConv2dBackwardWeight,
    op::BatchNormStatistics,
    op::BatchNormForward,
    op::BatchNormBackward,
    op::LayerNormForward,
    op::LayerNormBackward,
    op::AvgPool2dForward,
    op::AvgPool2dBackward,
    op::InterpolateBilinearForward,
    op::InterpolateBilinearBackward,
    op::Fill,
    op::Tile,
    op::GatherRows,
    op::ScatterAddRows,
    op::PermuteGather,
    op::PermuteScatterAcc,
    op::AxisBlockCopy,
    op::BatchNormFinalize,
    op::AdamStep,
    op::SgdStep,
    op::SumSquares,
    op::JitterAdd,
    op::ChannelDistance,
    op::RowMax>;

}  // namespace ras::kernels
