// ras/ras.hpp — umbrella header: the whole public API of ras.
#pragma once

#include "ras/config.hpp"
#include "ras/shape.hpp"
#include "ras/device.hpp"
#include "ras/tensor.hpp"
#include "ras/random.hpp"
#include "ras/kernels/gemm.hpp"
#include "ras/autograd/tape.hpp"
#include "ras/autograd/var.hpp"
#include "ras/autograd/ops_linalg.hpp"
