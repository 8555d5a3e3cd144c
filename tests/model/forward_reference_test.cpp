// Proves the libtorch forward pass (HF rotate-half layout, batched prefill and KV-cache decode)
// against an independent float64 plain-loop re-implementation of llama2.c run.c's forward, written
// here from the .bin file itself with interleaved RoPE: no libtorch op in the reference.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <vector>

#include "lmshrink/io/llama2c.h"
#include "lmshrink/util/error.h"
#include "test_support.h"

namespace {

using Vec = std::vector<double>;

// run.c's model, read with plain stream reads into float64.
struct ReferenceModel {
  int dim, hidden, layers, heads, kv_heads, vocab, seq_len, head_size, kv_dim;
  bool shared;
  Vec embed, att_norm, wq, wk, wv, wo, ffn_norm, w1, w2, w3, final_norm, wcls;

  explicit ReferenceModel(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    int32_t h[7];
    in.read(reinterpret_cast<char*>(h), sizeof(h));
    dim = h[0], hidden = h[1], layers = h[2], heads = h[3], kv_heads = h[4], vocab = std::abs(h[5]), seq_len = h[6];
    shared = h[5] > 0;
    head_size = dim / heads;
    kv_dim = head_size * kv_heads;
    auto read = [&](size_t count) {
      std::vector<float> f(count);
      in.read(reinterpret_cast<char*>(f.data()), count * 4);
      return Vec(f.begin(), f.end());
    };
    embed = read(size_t(vocab) * dim);
    att_norm = read(size_t(layers) * dim);
    wq = read(size_t(layers) * dim * dim);
    wk = read(size_t(layers) * dim * kv_dim);
    wv = read(size_t(layers) * dim * kv_dim);
    wo = read(size_t(layers) * dim * dim);
    ffn_norm = read(size_t(layers) * dim);
    w1 = read(size_t(layers) * dim * hidden);
    w2 = read(size_t(layers) * dim * hidden);
    w3 = read(size_t(layers) * dim * hidden);
    final_norm = read(dim);
    read(size_t(seq_len) * head_size);
    wcls = shared ? embed : read(size_t(vocab) * dim);
  }
};

void rmsnorm(Vec& out, const Vec& x, const double* w) {
  double ss = 0;
  for (double v : x) ss += v * v;
  ss = 1.0 / std::sqrt(ss / x.size() + 1e-5);
  for (size_t i = 0; i < x.size(); ++i) out[i] = w[i] * (ss * x[i]);
}

void matmul(Vec& out, const Vec& x, const double* w, int n, int d) {  // W (d, n) @ x (n) -> out (d)
  for (int i = 0; i < d; ++i) {
    double sum = 0;
    for (int j = 0; j < n; ++j) sum += w[size_t(i) * n + j] * x[j];
    out[i] = sum;
  }
}

// Logits for every position of tokens, one token at a time with a KV cache, as run.c does.
std::vector<Vec> reference_logits(const ReferenceModel& m, const std::vector<int>& tokens) {
  int T = tokens.size();
  std::vector<Vec> key_cache(m.layers, Vec(size_t(T) * m.kv_dim)), value_cache(m.layers, Vec(size_t(T) * m.kv_dim));
  std::vector<Vec> all_logits;
  for (int pos = 0; pos < T; ++pos) {
    Vec x(m.embed.begin() + size_t(tokens[pos]) * m.dim, m.embed.begin() + size_t(tokens[pos] + 1) * m.dim);
    Vec xb(m.dim), q(m.dim), k(m.kv_dim), v(m.kv_dim), att(pos + 1), xb2(m.dim), hb(m.hidden), hb2(m.hidden);
    for (int l = 0; l < m.layers; ++l) {
      rmsnorm(xb, x, &m.att_norm[size_t(l) * m.dim]);
      matmul(q, xb, &m.wq[size_t(l) * m.dim * m.dim], m.dim, m.dim);
      matmul(k, xb, &m.wk[size_t(l) * m.dim * m.kv_dim], m.dim, m.kv_dim);
      matmul(v, xb, &m.wv[size_t(l) * m.dim * m.kv_dim], m.dim, m.kv_dim);
      for (int i = 0; i < m.dim; i += 2) {  // interleaved RoPE
        int head_dim = i % m.head_size;
        double freq = 1.0 / std::pow(10000.0, head_dim / double(m.head_size));
        double angle = pos * freq, fcr = std::cos(angle), fci = std::sin(angle);
        for (int which = 0; which < (i < m.kv_dim ? 2 : 1); ++which) {
          Vec& vec = which == 0 ? q : k;
          double v0 = vec[i], v1 = vec[i + 1];
          vec[i] = v0 * fcr - v1 * fci;
          vec[i + 1] = v0 * fci + v1 * fcr;
        }
      }
      std::copy(k.begin(), k.end(), key_cache[l].begin() + size_t(pos) * m.kv_dim);
      std::copy(v.begin(), v.end(), value_cache[l].begin() + size_t(pos) * m.kv_dim);
      int group = m.heads / m.kv_heads;
      for (int h = 0; h < m.heads; ++h) {
        int kv_offset = (h / group) * m.head_size;
        double max_score = -1e300;
        for (int t = 0; t <= pos; ++t) {
          double score = 0;
          for (int i = 0; i < m.head_size; ++i) score += q[h * m.head_size + i] * key_cache[l][size_t(t) * m.kv_dim + kv_offset + i];
          att[t] = score / std::sqrt(double(m.head_size));
          max_score = std::max(max_score, att[t]);
        }
        double sum = 0;
        for (int t = 0; t <= pos; ++t) sum += (att[t] = std::exp(att[t] - max_score));
        for (int i = 0; i < m.head_size; ++i) {
          double acc = 0;
          for (int t = 0; t <= pos; ++t) acc += att[t] / sum * value_cache[l][size_t(t) * m.kv_dim + kv_offset + i];
          xb[h * m.head_size + i] = acc;
        }
      }
      matmul(xb2, xb, &m.wo[size_t(l) * m.dim * m.dim], m.dim, m.dim);
      for (int i = 0; i < m.dim; ++i) x[i] += xb2[i];
      rmsnorm(xb, x, &m.ffn_norm[size_t(l) * m.dim]);
      matmul(hb, xb, &m.w1[size_t(l) * m.dim * m.hidden], m.dim, m.hidden);
      matmul(hb2, xb, &m.w3[size_t(l) * m.dim * m.hidden], m.dim, m.hidden);
      for (int i = 0; i < m.hidden; ++i) hb[i] = hb[i] / (1.0 + std::exp(-hb[i])) * hb2[i];
      matmul(xb, hb, &m.w2[size_t(l) * m.dim * m.hidden], m.hidden, m.dim);
      for (int i = 0; i < m.dim; ++i) x[i] += xb[i];
    }
    rmsnorm(x, x, m.final_norm.data());
    Vec logits(m.vocab);
    matmul(logits, x, m.wcls.data(), m.dim, m.vocab);
    all_logits.push_back(logits);
  }
  return all_logits;
}

std::vector<int> test_tokens(int count, int vocab) {  // deterministic pseudo-random ids, BOS first
  std::vector<int> tokens{1};
  uint32_t state = 12345;
  while ((int)tokens.size() < count) {
    state = state * 1664525u + 1013904223u;
    tokens.push_back(3 + (state >> 8) % (vocab - 3));
  }
  return tokens;
}

double max_abs_difference(const at::Tensor& logits_seq_vocab, const std::vector<Vec>& reference) {
  at::Tensor ours = logits_seq_vocab.to(torch::kFloat64).contiguous();
  double worst = 0;
  for (size_t t = 0; t < reference.size(); ++t) {
    const double* row = ours[t].data_ptr<double>();
    for (size_t i = 0; i < reference[t].size(); ++i) worst = std::max(worst, std::abs(row[i] - reference[t][i]));
  }
  return worst;
}

void expect_forward_matches_reference(const std::string& path, int count) {
  ReferenceModel reference(path);
  auto model = lmshrink::load_llama2c(path);
  std::vector<int> tokens = test_tokens(count, reference.vocab);
  std::vector<Vec> expected = reference_logits(reference, tokens);
  at::Tensor ids = torch::tensor(std::vector<int64_t>(tokens.begin(), tokens.end())).view({1, count});

  double prefill_error = max_abs_difference(model->forward(ids)[0], expected);
  EXPECT_LE(prefill_error, 1e-4) << path << ": batched prefill vs float64 reference";

  // Incremental decode: a prefill of the first half, then one token at a time through the cache.
  lmshrink::KVCache cache(model->config(), 1, count, torch::TensorOptions().dtype(torch::kFloat32));
  int half = count / 2;
  std::vector<at::Tensor> rows{model->forward(ids.narrow(1, 0, half), &cache)[0]};
  for (int t = half; t < count; ++t) rows.push_back(model->forward(ids.narrow(1, t, 1), &cache)[0]);
  double decode_error = max_abs_difference(torch::cat(rows, 0), expected);
  EXPECT_LE(decode_error, 1e-4) << path << ": KV-cache decode vs float64 reference";
  EXPECT_EQ(cache.length, count);
}

TEST(ForwardReferenceTest, Stories260KMatchesFloat64LoopReference) {
  expect_forward_matches_reference(lmshrink::testing::stories_bin(), 300);  // past half the 512 context
}

TEST(ForwardReferenceTest, Aidreams260KMatchesFloat64LoopReference) {
  expect_forward_matches_reference(lmshrink::testing::aidreams_bin(), 128);  // the whole context
}

TEST(ForwardReferenceTest, BatchedWindowsEqualSingleWindows) {
  auto model = lmshrink::load_llama2c(lmshrink::testing::stories_bin());
  std::vector<int> tokens = test_tokens(64, 512);
  at::Tensor one = torch::tensor(std::vector<int64_t>(tokens.begin(), tokens.end())).view({2, 32});
  at::Tensor batched = model->forward(one);
  for (int64_t row = 0; row < 2; ++row) {
    at::Tensor single = model->forward(one.narrow(0, row, 1))[0];
    EXPECT_LE((batched[row] - single).abs().max().item<double>(), 1e-4);  // fp32 summation order differs
  }
}

TEST(ForwardReferenceTest, RefusesPositionsBeyondContext) {
  auto model = lmshrink::load_llama2c(lmshrink::testing::aidreams_bin());
  at::Tensor ids = torch::ones({1, 129}, torch::kInt64);
  EXPECT_THROW(model->forward(ids), lmshrink::Error);
}

}  // namespace
