// What the zero-shot scorers need of a language model: next-token log-probabilities for a batch of
// token rows, and the longest row it accepts. Transformer is the real implementation; the tests plug
// in fake models whose log-probabilities are known in closed form.
#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>

namespace lmshrink {

class Transformer;

class LogProbModel {
 public:
  virtual ~LogProbModel() = default;
  // tokens [batch, seq] int64 -> log_softmax of the next-token logits, [batch, seq, vocab] float32.
  virtual at::Tensor log_probs(const at::Tensor& tokens) const = 0;
  virtual int64_t max_length() const = 0;  // the context: rows of at most this many tokens
};

// Transformer::forward without a cache, block after block, releasing the pages of memory-mapped weights after each
// (io/mapped_pages.h): the same logits, with one block of a checkpoint larger than memory resident at a time.
at::Tensor streamed_logits(const Transformer& model, const at::Tensor& tokens);

class TransformerLogProbs : public LogProbModel {
 public:
  explicit TransformerLogProbs(const Transformer& model) : model_(model) {}
  at::Tensor log_probs(const at::Tensor& tokens) const override;
  int64_t max_length() const override;

 private:
  const Transformer& model_;
};

}  // namespace lmshrink
