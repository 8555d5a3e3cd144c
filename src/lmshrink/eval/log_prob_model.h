// What the zero-shot scorers need of a language model: next-token log-probabilities for a batch of
// token rows, and the longest row it accepts. Transformer is the real implementation; the tests plug
// in fake models whose log-probabilities are known in closed form.
#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <utility>

namespace lmshrink {

class Transformer;

class LogProbModel {
 public:
  virtual ~LogProbModel() = default;
  // tokens [batch, seq] int64 -> log_softmax of the next-token logits, [batch, seq, vocab] float32.
  virtual at::Tensor log_probs(const at::Tensor& tokens) const = 0;
  virtual int64_t max_length() const = 0;  // the context: rows of at most this many tokens
  // Rows that all begin with `prefix` [p] int64, each followed by its row of `suffixes` [n, s] int64 (right-padded):
  // log_softmax of the next-token logits of the prefix positions, [p, vocab], and of each row's suffix positions,
  // [n, s, vocab], float32. The default runs the n whole rows; TransformerLogProbs runs the prefix once into a KV cache
  // the rows share (the choices of one multiple-choice question).
  virtual std::pair<at::Tensor, at::Tensor> log_probs_after_prefix(const at::Tensor& prefix, const at::Tensor& suffixes) const;
};

// Transformer::forward without a cache, block after block, releasing the pages of memory-mapped weights after each
// (io/mapped_pages.h): the same logits, with one block of a checkpoint larger than memory resident at a time.
at::Tensor streamed_logits(const Transformer& model, const at::Tensor& tokens);

class TransformerLogProbs : public LogProbModel {
 public:
  explicit TransformerLogProbs(const Transformer& model) : model_(model) {}
  at::Tensor log_probs(const at::Tensor& tokens) const override;
  int64_t max_length() const override;
  std::pair<at::Tensor, at::Tensor> log_probs_after_prefix(const at::Tensor& prefix, const at::Tensor& suffixes) const override;

 private:
  const Transformer& model_;
};

}  // namespace lmshrink
