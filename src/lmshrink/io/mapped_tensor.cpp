// Tensors over file mappings (see mapped_tensor.h).
#include "lmshrink/io/mapped_tensor.h"

#include <torch/torch.h>

#include <cstring>

namespace lmshrink {

at::Tensor mapped_tensor(const std::shared_ptr<MappedFile>& file, const uint8_t* data, at::IntArrayRef shape,
                         at::ScalarType type, int64_t bytes) {
  auto options = torch::TensorOptions().dtype(type);
  if (reinterpret_cast<uintptr_t>(data) % options.dtype().itemsize() != 0) {  // unaligned: copy
    at::Tensor copy = torch::empty(shape, options);
    std::memcpy(copy.data_ptr(), data, static_cast<size_t>(bytes));
    return copy;
  }
  std::shared_ptr<MappedFile> keep_alive = file;
  return torch::from_blob(const_cast<uint8_t*>(data), shape, [keep_alive](void*) {}, options);
}

std::string shape_text(at::IntArrayRef shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

}  // namespace lmshrink
