// ras/kernels/reference/common.hpp — the reference backend: its tag and Backend<Reference>. Its
// kernels (kernels/reference/*.hpp) are plain scalar loops over the definitions: the parity oracle.
#pragma once

#include "ras/config.hpp"
#include "ras/device.hpp"
#include "ras/kernels/backend.hpp"
#include "ras/shape.hpp"

namespace ras::kernels {
namespace reference {
struct Tag {};
}  // namespace reference

template <>
struct Backend<Reference> : OverloadBackend<reference::Tag> {};

}  // namespace ras::kernels
