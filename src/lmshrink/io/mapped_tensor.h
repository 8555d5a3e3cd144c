// Tensors the checkpoint readers hand out (safetensors.h, gguf_file.h): views of a file mapping (mapped_pages.h), and
// the shape text of their errors.
#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <string>

#include "lmshrink/io/mapped_pages.h"

namespace lmshrink {

// The `bytes` bytes at `data`, inside file's mapping, as a tensor of `type` and `shape`: a zero-copy view that keeps
// the mapping alive, or a copy when data is not aligned for the type.
at::Tensor mapped_tensor(const std::shared_ptr<MappedFile>& file, const uint8_t* data, at::IntArrayRef shape,
                         at::ScalarType type, int64_t bytes);

std::string shape_text(at::IntArrayRef shape);  // "[2, 3]"

}  // namespace lmshrink
