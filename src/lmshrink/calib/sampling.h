// Calibration sampling: turns corpus documents into a [n_samples, seq_len] int64 token matrix.
// Two protocols (ALGORITHMS.md):
//   blocks        ROCKET §3.2 (rocket/data/prepare_data.py): tokenize every document with its BOS,
//                 concatenate, cut into seq_len blocks (remainder dropped), take the first n_samples
//                 of a seeded permutation. BOS tokens sit at document boundaries inside blocks.
//   random-offset SVD-LLM §1.2 step 1 (utils/data_utils.py get_calib_train_data): join documents
//                 with "\n\n"; per sample a random character offset i in [0, chars - seq_len - 1]
//                 (moved forward to a UTF-8 character start), tokenize text[i, i + 10 seq_len) with
//                 BOS, keep the first seq_len ids (so every sample starts with BOS).
// Randomness: std::mt19937_64 seeded with spec.seed, drawn through an explicit rejection sampler
// (not std::uniform_int_distribution / std::shuffle, whose output differs between standard
// libraries), so one seed gives identical samples on every platform. The seeds and permutations are
// not those of torch.manual_seed / Python's random: samples match the protocols, not the bytes.
#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "lmshrink/tokenizer/tokenizer.h"

namespace lmshrink {

struct CalibSpec {
  std::string corpus;                // preset name or file (calib/corpus.h)
  std::string sampling = "blocks";   // "blocks" or "random-offset"
  int64_t n_samples = 256;
  int64_t seq_len = 0;               // must be set (> 0); typically the model context or 2048
  uint64_t seed = 0;
};

// int64 [n_samples, seq_len]. Throws lmshrink::Error on an unknown protocol, a non-positive size, a
// corpus with fewer blocks than samples (naming how many), or a random-offset sample shorter than
// seq_len.
at::Tensor sample_calibration(const std::vector<std::string>& docs, const Tokenizer& tokenizer, const CalibSpec& spec);

// One line for run records: "corpus=tinystories sampling=blocks n_samples=256 seq_len=512 seed=0".
std::string describe(const CalibSpec& spec);

// A stable file-name-safe key for cached statistics of (model, spec): a readable prefix plus the
// 64-bit FNV-1a hash (hex) of model_id and describe(spec). Same inputs, same key, everywhere.
std::string cache_key(const std::string& model_id, const CalibSpec& spec);

// Uniform integer in [0, bound) from a mt19937_64, by rejection (unbiased, portable).
uint64_t uniform_below(uint64_t bound, std::mt19937_64& rng);

}  // namespace lmshrink
