// Calibration sampling protocols: ROCKET blocks and SVD-LLM random offsets (see sampling.h).
#include "lmshrink/calib/sampling.h"

#include <cstdio>
#include <filesystem>
#include <random>

#include "lmshrink/util/error.h"

namespace lmshrink {

namespace {

at::Tensor to_tensor(const std::vector<int64_t>& ids, int64_t rows, int64_t cols) {
  return torch::tensor(ids, torch::kInt64).view({rows, cols});
}

at::Tensor sample_blocks(const std::vector<std::string>& docs, const Tokenizer& tokenizer, const CalibSpec& spec) {
  std::vector<int64_t> stream;  // every document with its BOS, concatenated
  for (const auto& doc : docs) {
    std::vector<int32_t> ids = tokenizer.encode(doc, /*add_bos=*/true, /*add_eos=*/false);
    stream.insert(stream.end(), ids.begin(), ids.end());
  }
  int64_t n_blocks = static_cast<int64_t>(stream.size()) / spec.seq_len;
  LMSHRINK_CHECK(n_blocks >= spec.n_samples, "calibration corpus ", spec.corpus, ": ", stream.size(),
                 " tokens make ", n_blocks, " blocks of ", spec.seq_len, ", fewer than the ", spec.n_samples,
                 " samples asked for");
  std::vector<int64_t> order(n_blocks);
  for (int64_t i = 0; i < n_blocks; ++i) order[i] = i;
  std::mt19937_64 rng(spec.seed);
  for (int64_t i = n_blocks - 1; i > 0; --i) {  // Fisher-Yates
    int64_t j = static_cast<int64_t>(uniform_below(static_cast<uint64_t>(i + 1), rng));
    std::swap(order[i], order[j]);
  }
  std::vector<int64_t> ids;
  ids.reserve(spec.n_samples * spec.seq_len);
  for (int64_t s = 0; s < spec.n_samples; ++s) {
    auto begin = stream.begin() + order[s] * spec.seq_len;
    ids.insert(ids.end(), begin, begin + spec.seq_len);
  }
  return to_tensor(ids, spec.n_samples, spec.seq_len);
}

at::Tensor sample_random_offsets(const std::vector<std::string>& docs, const Tokenizer& tokenizer,
                                 const CalibSpec& spec) {
  std::string text;
  for (size_t d = 0; d < docs.size(); ++d) {
    if (d > 0) text += "\n\n";
    text += docs[d];
  }
  int64_t chars = static_cast<int64_t>(text.size());
  LMSHRINK_CHECK(chars > spec.seq_len + 1, "calibration corpus ", spec.corpus, ": ", chars,
                 " characters, too short for random offsets of seq_len ", spec.seq_len);
  std::mt19937_64 rng(spec.seed);
  std::vector<int64_t> ids;
  ids.reserve(spec.n_samples * spec.seq_len);
  for (int64_t s = 0; s < spec.n_samples; ++s) {
    int64_t offset = static_cast<int64_t>(uniform_below(static_cast<uint64_t>(chars - spec.seq_len), rng));
    while (offset < chars && (static_cast<unsigned char>(text[offset]) & 0xC0) == 0x80) ++offset;  // UTF-8 start
    std::string window = text.substr(offset, 10 * spec.seq_len);
    std::vector<int32_t> sample = tokenizer.encode(window, /*add_bos=*/true, /*add_eos=*/false);
    LMSHRINK_CHECK(static_cast<int64_t>(sample.size()) >= spec.seq_len, "calibration corpus ", spec.corpus,
                   ": random-offset sample ", s, " at character ", offset, " has ", sample.size(),
                   " tokens, fewer than seq_len ", spec.seq_len);
    ids.insert(ids.end(), sample.begin(), sample.begin() + spec.seq_len);
  }
  return to_tensor(ids, spec.n_samples, spec.seq_len);
}

uint64_t fnv1a64(const std::string& text) {
  uint64_t hash = 1469598103934665603ull;
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return hash;
}

std::string safe_name(const std::string& text) {
  std::string out;
  for (char c : text) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    out += ok ? c : '_';
  }
  return out.substr(0, 40);
}

}  // namespace

uint64_t uniform_below(uint64_t bound, std::mt19937_64& rng) {
  LMSHRINK_CHECK(bound > 0, "uniform_below: bound must be positive");
  uint64_t limit = UINT64_MAX - UINT64_MAX % bound;  // accept [0, limit), a multiple of bound
  uint64_t draw = rng();
  while (draw >= limit) draw = rng();
  return draw % bound;
}

at::Tensor sample_calibration(const std::vector<std::string>& docs, const Tokenizer& tokenizer, const CalibSpec& spec) {
  LMSHRINK_CHECK(spec.n_samples > 0, "calibration: n_samples must be positive, got ", spec.n_samples);
  LMSHRINK_CHECK(spec.seq_len > 0, "calibration: seq_len must be positive, got ", spec.seq_len);
  LMSHRINK_CHECK(!docs.empty(), "calibration corpus ", spec.corpus, ": no documents");
  if (spec.sampling == "blocks") return sample_blocks(docs, tokenizer, spec);
  if (spec.sampling == "random-offset") return sample_random_offsets(docs, tokenizer, spec);
  fail("calibration: unknown sampling '", spec.sampling, "' (expected blocks or random-offset)");
}

std::string describe(const CalibSpec& spec) {
  return str_cat("corpus=", spec.corpus, " sampling=", spec.sampling, " n_samples=", spec.n_samples,
                 " seq_len=", spec.seq_len, " seed=", spec.seed);
}

std::string cache_key(const std::string& model_id, const CalibSpec& spec) {
  char hex[17];
  std::snprintf(hex, sizeof(hex), "%016llx",
                static_cast<unsigned long long>(fnv1a64(model_id + "\n" + describe(spec))));
  std::string model_name = safe_name(std::filesystem::path(model_id).filename().string());
  std::string corpus_name = safe_name(std::filesystem::path(spec.corpus).filename().string());
  return str_cat(model_name, "-", corpus_name, "-", spec.sampling, "-n", spec.n_samples, "-s", spec.seq_len, "-",
                 hex);
}

}  // namespace lmshrink
