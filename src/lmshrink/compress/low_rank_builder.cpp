// One matrix through svd, asvd or svd-llm (see low_rank_builder.h).
#include "lmshrink/compress/low_rank_builder.h"

#include "lmshrink/compress/asvd.h"
#include "lmshrink/compress/svd.h"
#include "lmshrink/compress/svd_llm.h"
#include "lmshrink/util/error.h"

namespace lmshrink {

CompressedLayer compress_low_rank(std::unique_ptr<Linear>& slot, const std::string& name, const LayerStats* stats,
                                  const CompressOptions& options, int64_t rank, double ratio) {
  const Linear& layer = *slot;
  std::unique_ptr<Linear> compressed;
  double gram_shift = 0.0, truncation_loss = -1.0, whitened_norm2 = -1.0;
  if (options.method == Method::kSvd) {
    compressed = compress_svd(layer, rank);
  } else if (options.method == Method::kAsvd) {
    stats->check_accumulated(name);
    compressed = compress_asvd(layer, stats->channel_abs_mean(), rank, options.low_rank.asvd_alpha);
  } else {
    stats->check_accumulated(name);
    SvdLlmResult r = compress_svd_llm(layer, stats->gram.to(torch::kCPU), rank);
    compressed = std::move(r.layer);
    gram_shift = r.gram_shift;
    truncation_loss = r.truncation_loss;
    whitened_norm2 = r.whitened_norm2;
  }
  CompressedLayer record = layer_record(name, layer, *compressed, ratio);
  record.rank = rank;
  record.gram_shift = gram_shift;
  record.truncation_loss = truncation_loss;
  if (stats && stats->gram.defined()) record.whitened_error = whitened_error(layer, *compressed, stats->gram, whitened_norm2);
  slot = std::move(compressed);
  return record;
}

}  // namespace lmshrink
