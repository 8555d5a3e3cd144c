// Zero-shot scoring against hand-computed references: a fake model whose log-probabilities are known
// in closed form (fake_lm.h), lm-eval's joint encoding rules, acc vs acc_norm, partial and letter
// scoring, LAMBADA's greedy match, lm-eval's standard error, and shared-prefix scoring against whole rows.
#include <gtest/gtest.h>

#include <cmath>

#include "eval/fake_lm.h"
#include "lmshrink/eval/encode_pair.h"
#include "lmshrink/eval/log_prob_model.h"
#include "lmshrink/eval/loglikelihood.h"
#include "lmshrink/eval/metrics.h"
#include "lmshrink/eval/zero_shot.h"
#include "lmshrink/util/error.h"
#include "lmshrink/io/llama2c.h"
#include "lmshrink/tokenizer/llama2c_tokenizer.h"
#include "test_support.h"

namespace lmshrink {
namespace {

using testing::ByteTokenizer;
using testing::FakeLm;
using testing::fake_log_prob;

// The float64 reference of one request: lm-eval's truncated input, then the continuation's log-probs.
double reference_logprob(const LoglikRequest& r, int64_t max_length, double position_weight) {
  std::vector<int32_t> whole(r.context);
  whole.insert(whole.end(), r.continuation.begin(), r.continuation.end());
  size_t keep = std::min<size_t>(whole.size(), max_length + 1);
  std::vector<int32_t> window(whole.end() - keep, whole.end());  // input = window[0 .. keep-2]
  double sum = 0.0;
  for (size_t i = 0; i < r.continuation.size(); ++i) {
    size_t target = window.size() - r.continuation.size() + i;  // index of the predicted token in window
    sum += fake_log_prob(window[target - 1], window[target], static_cast<int64_t>(target - 1), position_weight, 259);
  }
  return sum;
}

TEST(ZeroShotScoring, LogLikelihoodEqualsFloat64ReferenceWithLeftTruncationAndAnyBatching) {
  ByteTokenizer tokenizer;
  FakeLm model(8, 0.7);
  std::vector<LoglikRequest> requests = {
      encode_pair(tokenizer, "short", " a", true),
      encode_pair(tokenizer, "a much longer context than eight", " tail", true),  // truncated from the left
      encode_pair(tokenizer, "", "xyz", true),                                      // empty context: BOS prefix
      encode_pair(tokenizer, "mid ctx", " choice", false)};
  for (int64_t batch : {1, 3, 16}) {
    std::vector<LoglikResult> scored = score_loglikelihood(model, requests, batch, "test");
    for (size_t i = 0; i < requests.size(); ++i)
      EXPECT_NEAR(scored[i].logprob, reference_logprob(requests[i], 8, 0.7), 1e-4) << "request " << i << " batch " << batch;
  }
}

TEST(ZeroShotScoring, RequestsWithTheSameModelInputShareOneRow) {
  ByteTokenizer tokenizer;
  FakeLm model(64, 0.7);
  std::vector<LoglikRequest> letters;
  for (const char* letter : {" A", " B", " C", " D"}) letters.push_back(encode_pair(tokenizer, "Question?\nAnswer:", letter, true));
  letters.push_back(encode_pair(tokenizer, "Other", " A", true));
  std::vector<LoglikResult> scored = score_loglikelihood(model, letters, 16, "test");
  EXPECT_EQ(model.calls_, 1);
  for (size_t i = 0; i < letters.size(); ++i) EXPECT_NEAR(scored[i].logprob, reference_logprob(letters[i], 64, 0.7), 1e-4);
}

// The choices of one question share their context pass: one call per group, the float64 reference scores, also when
// the window truncates some choices from the left (then they share less, or nothing).
TEST(ZeroShotScoring, SharedPrefixesGiveTheWholeRowScores) {
  ByteTokenizer tokenizer;
  FakeLm model(32, 0.7);
  std::vector<LoglikRequest> requests;
  for (const char* choice : {" red", " green and blue", " a longer answer than all"})  // 11 + 25 > 33: truncated
    requests.push_back(encode_pair(tokenizer, "The sky is", choice, true));
  for (const char* choice : {" yes", " no"}) requests.push_back(encode_pair(tokenizer, "Is it?", choice, true));
  requests.push_back(encode_pair(tokenizer, "Alone", " here", true));
  for (bool share : {true, false}) {
    model.calls_ = 0;
    std::vector<LoglikResult> scored = score_loglikelihood(model, requests, 8, "test", share);
    for (size_t i = 0; i < requests.size(); ++i)
      EXPECT_NEAR(scored[i].logprob, reference_logprob(requests[i], 32, 0.7), 1e-4) << "request " << i << " share " << share;
    // shared: "The sky is" (its first two choices; the truncated third row begins elsewhere) and "Is it?" run as
    // prefix groups, the rest in one batch; whole rows: one batch of 6
    EXPECT_EQ(model.calls_, share ? 3 : 1);
  }
}

// The Transformer's KV-cache prefix pass equals its whole rows (stories260K, float32 rounding).
TEST(ZeroShotScoring, TransformerPrefixPassEqualsWholeRows) {
  auto model = load_llama2c(testing::stories_bin());
  TransformerLogProbs log_probs(*model);
  torch::manual_seed(3);
  std::vector<LoglikRequest> requests;
  for (int question = 0; question < 3; ++question) {
    at::Tensor context = torch::randint(3, 512, {20 + 7 * question}, torch::kInt64);
    std::vector<int32_t> context_ids(context.data_ptr<int64_t>(), context.data_ptr<int64_t>() + context.numel());
    for (int choice = 0; choice < 4; ++choice) {
      at::Tensor continuation = torch::randint(3, 512, {1 + 3 * choice}, torch::kInt64);
      requests.push_back({context_ids, std::vector<int32_t>(continuation.data_ptr<int64_t>(),
                                                            continuation.data_ptr<int64_t>() + continuation.numel())});
    }
  }
  std::vector<LoglikResult> shared = score_loglikelihood(log_probs, requests, 4, "test", true);
  std::vector<LoglikResult> whole = score_loglikelihood(log_probs, requests, 4, "test", false);
  for (size_t i = 0; i < requests.size(); ++i) {
    EXPECT_NEAR(shared[i].logprob, whole[i].logprob, 1e-4 * std::max(1.0, std::abs(whole[i].logprob))) << i;
    EXPECT_EQ(shared[i].greedy, whole[i].greedy) << i;
  }
}

TEST(ZeroShotScoring, EncodePairMovesTrailingSpacesAndGivesEmptyContextTheBosPrefix) {
  ByteTokenizer tokenizer;
  LoglikRequest moved = encode_pair(tokenizer, "Answer: ", "yes", false);
  EXPECT_EQ(moved.context, tokenizer.encode("Answer:", false, false));
  EXPECT_EQ(moved.continuation, tokenizer.encode(" yes", false, false));
  LoglikRequest with_bos = encode_pair(tokenizer, "Q", " A", true);
  EXPECT_EQ(with_bos.context, (std::vector<int32_t>{1, 'Q' + 3}));
  LoglikRequest empty = encode_pair(tokenizer, "", "abc", true);
  EXPECT_EQ(empty.context, std::vector<int32_t>{1});
  EXPECT_EQ(empty.continuation, tokenizer.encode("abc", false, false));
}

TEST(ZeroShotScoring, EncodePairEncodesJointlyWithASentencePieceTokenizer) {
  Llama2cTokenizer tokenizer(testing::stories_tok());
  std::string context = "Once upon a", continuation = " time";
  LoglikRequest r = encode_pair(tokenizer, context, continuation, true);
  std::vector<int32_t> whole = tokenizer.encode(context + continuation, true, false);
  std::vector<int32_t> joined(r.context);
  joined.insert(joined.end(), r.continuation.begin(), r.continuation.end());
  EXPECT_EQ(joined, whole);
  EXPECT_EQ(r.context, tokenizer.encode(context, true, false));
  // Encoding the continuation alone would add SentencePiece's dummy-prefix space: not what is scored.
  EXPECT_NE(r.continuation, tokenizer.encode(continuation, false, false));
}

TEST(ZeroShotScoring, AccAndAccNormDisagreeWhereTheyShould) {
  // Choice 0: short, total -3 (per char -1.5). Choice 1: long, total -4 (per char -0.5). acc picks 0, acc_norm 1.
  TaskData task{"toy", TaskKind::kChoice};
  TaskItem item{{"ctx"}, {"ab", "abcdefgh"}, 1, ""};
  std::vector<std::vector<LoglikResult>> scored = {{{-3.0, false}, {-4.0, false}}};
  TaskResult r = aggregate_task(task, {item}, scored);
  EXPECT_EQ(r.metrics.at("acc").value, 0.0);
  EXPECT_EQ(r.metrics.at("acc_norm").value, 1.0);
  EXPECT_EQ(length_normalized({-3.0, -4.0}, {"ab", "abcdefgh"}), (std::vector<double>{-1.5, -0.5}));
  EXPECT_EQ(utf8_length("\xC3\xA9t\xC3\xA9"), 3);  // "été": characters, not bytes
}

TEST(ZeroShotScoring, StandardErrorIsLmEvalSampleStderr) {
  std::vector<double> acc = {1, 0, 1, 1, 0, 1, 1};
  double mean = 5.0 / 7.0, squares = 0.0;
  for (double x : acc) squares += (x - mean) * (x - mean);
  MetricValue m = mean_with_stderr(acc);
  EXPECT_DOUBLE_EQ(m.value, mean);
  EXPECT_NEAR(m.stderr_value, std::sqrt(squares / 6.0) / std::sqrt(7.0), 1e-15);
  EXPECT_EQ(m.n, 7);
}

TEST(ZeroShotScoring, PartialScoringScoresOnlyTheSharedContinuation) {
  ByteTokenizer tokenizer;
  FakeLm model(64, 0.0);
  TaskData task{"winogrande", TaskKind::kPartial};
  task.has_acc_norm = false;
  TaskItem item{{"The trophy did not fit because the trophy", "The trophy did not fit because the case"},
                {"was too big."}, 0, ""};
  std::vector<LoglikRequest> requests = item_requests(task, item, tokenizer, true);
  ASSERT_EQ(requests.size(), 2u);
  std::vector<int32_t> continuation = tokenizer.encode(" was too big.", false, false);
  std::vector<double> expected;
  for (const std::string& context : item.contexts) {
    EXPECT_EQ(requests[expected.size()].continuation, continuation);
    double sum = 0.0;  // bigram: P(continuation | context) depends on the context's last character only
    int32_t prev = tokenizer.encode(context, false, false).back();
    for (int32_t t : continuation) sum += fake_log_prob(prev, t, 0, 0.0, 259), prev = t;
    expected.push_back(sum);
  }
  std::vector<LoglikResult> scored = score_loglikelihood(model, requests, 2, "test");
  EXPECT_NEAR(scored[0].logprob, expected[0], 1e-4);
  EXPECT_NEAR(scored[1].logprob, expected[1], 1e-4);
  TaskResult r = evaluate_task(model, tokenizer, TaskData{task.name, task.kind, " ", false, "acc", "", "", 0, {item}}, {});
  EXPECT_EQ(r.metrics.at("acc").value, expected[0] >= expected[1] ? 1.0 : 0.0);
  EXPECT_EQ(r.metrics.count("acc_norm"), 0u);
}

TEST(ZeroShotScoring, LetterScoringScoresTheFourLettersAfterTheDelimiter) {
  ByteTokenizer tokenizer;
  TaskData task{"mmlu", TaskKind::kChoice};
  task.has_acc_norm = false;
  TaskItem item{{"Q?\nA. x\nB. y\nC. z\nD. w\nAnswer:"}, {"A", "B", "C", "D"}, 2, "toy_subject"};
  std::vector<LoglikRequest> requests = item_requests(task, item, tokenizer, false);
  ASSERT_EQ(requests.size(), 4u);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(requests[i].continuation, tokenizer.encode(std::string(" ") + static_cast<char>('A' + i), false, false));
    EXPECT_EQ(requests[i].context, tokenizer.encode(item.contexts[0], false, false));
  }
  std::vector<std::vector<LoglikResult>> scored = {{{-4, false}, {-3, false}, {-1, false}, {-2, false}}};
  TaskResult r = aggregate_task(task, {item}, scored);
  EXPECT_EQ(r.metrics.at("acc").value, 1.0);
  EXPECT_EQ(r.groups.at("toy_subject").value, 1.0);
  EXPECT_EQ(r.metrics.at("acc_subject_mean").value, 1.0);
}

TEST(ZeroShotScoring, GreedyMatchAndTargetPerplexity) {
  ByteTokenizer tokenizer;
  FakeLm model(64, 0.0);
  // The bigram model's argmax after each token: build a continuation that follows it exactly.
  auto argmax_after = [](int32_t prev) {
    int32_t best = 0;
    for (int32_t v = 1; v < 259; ++v)
      if (fake_log_prob(prev, v, 0, 0.0, 259) > fake_log_prob(prev, best, 0, 0.0, 259)) best = v;
    return best;
  };
  LoglikRequest greedy{{'x' + 3}, {}};
  int32_t prev = 'x' + 3;
  for (int i = 0; i < 3; ++i) greedy.continuation.push_back(prev = argmax_after(prev));
  LoglikRequest not_greedy{{'x' + 3}, {greedy.continuation[0], greedy.continuation[1] == 10 ? 11 : 10}};
  std::vector<LoglikResult> scored = score_loglikelihood(model, {greedy, not_greedy}, 2, "test");
  EXPECT_TRUE(scored[0].greedy);
  EXPECT_FALSE(scored[1].greedy);
  TaskData task{"lambada_openai", TaskKind::kGreedy};
  TaskResult r = aggregate_task(task, {TaskItem{}, TaskItem{}}, {{scored[0]}, {scored[1]}});
  EXPECT_EQ(r.metrics.at("acc").value, 0.5);
  EXPECT_NEAR(r.metrics.at("perplexity").value, std::exp(-(scored[0].logprob + scored[1].logprob) / 2), 1e-9);
}

TEST(ZeroShotScoring, AContinuationLongerThanTheContextIsScoredOnItsLastTokens) {
  FakeLm model(4, 0.7);
  std::vector<LoglikResult> scored = score_loglikelihood(model, {LoglikRequest{{5}, {11, 12, 13, 14, 15, 16}}}, 1, "t");
  // The model sees 12 13 14 15 and predicts 13..16 at positions 0..3; 11 and 12 get no prediction.
  double expected = 0.0;
  for (int64_t pos = 0; pos < 4; ++pos) expected += fake_log_prob(12 + pos, 13 + pos, pos, 0.7, 259);
  EXPECT_NEAR(scored[0].logprob, expected, 1e-4);
  EXPECT_TRUE(scored[0].truncated);
}

TEST(ZeroShotScoring, RejectsRequestsTheModelCannotScore) {
  FakeLm model(4, 0.0);
  EXPECT_THROW(score_loglikelihood(model, {LoglikRequest{{}, {1}}}, 1, "t"), Error);
  EXPECT_THROW(score_loglikelihood(model, {LoglikRequest{{5}, {}}}, 1, "t"), Error);
}

}  // namespace
}  // namespace lmshrink
