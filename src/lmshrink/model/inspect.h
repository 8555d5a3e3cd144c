// Parameter and byte counts of a model per module type, for `lmshrink inspect`.
#pragma once
#include <cstdint>
#include <map>
#include <string>

#include "lmshrink/model/transformer.h"

namespace lmshrink {

struct ModuleCount {
  int64_t params = 0;
  int64_t bytes = 0;
  int64_t tensors = 0;
};

struct ModelSummary {
  std::map<std::string, ModuleCount> per_type;  // "embed_tokens", "q_proj", ..., "norm", "lm_head"
  int64_t total_params = 0;                     // tied lm_head counted once (with embed_tokens)
  int64_t total_bytes = 0;
  int64_t linear_params = 0;                    // block projections only: what compression targets
};

ModelSummary summarize_model(const Transformer& model);

}  // namespace lmshrink
