// Tiny random-weight Hugging Face checkpoints of each supported family (GQA Llama, Qwen2 q/k/v
// biases, Qwen3 q/k-norm with an explicit head_dim, llama3 and linear RoPE scaling, tied and untied
// embeddings), written by the test as HF directories, loaded through config.json + safetensors and
// run by the libtorch forward, against a float64 plain-loop reference of transformers' modeling
// code written here (rotate-half RoPE, repeat_kv GQA). No libtorch op in the reference.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>

#include "lmshrink/io/hf_model.h"
#include "lmshrink/io/model_loader.h"
#include "lmshrink/io/safetensors.h"
#include "lmshrink/util/error.h"
#include "test_support.h"

namespace {

using Vec = std::vector<double>;

struct Family {
  std::string name, architecture;
  int hidden = 32, inter = 48, layers = 2, heads = 4, kv_heads = 2, head_dim = 8, vocab = 64, context = 64;
  bool tied = false, qkv_bias = false, qk_norm = false, explicit_head_dim = false;
  std::string rope_type = "default";
  double theta = 10000.0, eps = 1e-6, factor = 1.0;
};

struct Weights {
  std::map<std::string, Vec> values;
  std::map<std::string, std::vector<int64_t>> shapes;
  std::mt19937 rng{1234};
  void add(const std::string& name, std::vector<int64_t> shape, double scale, double offset = 0.0) {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    std::normal_distribution<double> normal(0.0, scale);
    Vec v(n);
    for (double& x : v) x = static_cast<float>(offset + normal(rng));  // representable in float32
    values[name] = v;
    shapes[name] = shape;
  }
};

Weights make_weights(const Family& f) {
  Weights w;
  int q_dim = f.heads * f.head_dim, kv_dim = f.kv_heads * f.head_dim;
  w.add("model.embed_tokens.weight", {f.vocab, f.hidden}, 0.5);
  for (int l = 0; l < f.layers; ++l) {
    std::string p = "model.layers." + std::to_string(l) + ".";
    w.add(p + "input_layernorm.weight", {f.hidden}, 0.1, 1.0);
    w.add(p + "post_attention_layernorm.weight", {f.hidden}, 0.1, 1.0);
    w.add(p + "self_attn.q_proj.weight", {q_dim, f.hidden}, 0.3);
    w.add(p + "self_attn.k_proj.weight", {kv_dim, f.hidden}, 0.3);
    w.add(p + "self_attn.v_proj.weight", {kv_dim, f.hidden}, 0.3);
    w.add(p + "self_attn.o_proj.weight", {f.hidden, q_dim}, 0.3);
    if (f.qkv_bias) {
      w.add(p + "self_attn.q_proj.bias", {q_dim}, 0.2);
      w.add(p + "self_attn.k_proj.bias", {kv_dim}, 0.2);
      w.add(p + "self_attn.v_proj.bias", {kv_dim}, 0.2);
    }
    if (f.qk_norm) {
      w.add(p + "self_attn.q_norm.weight", {f.head_dim}, 0.1, 1.0);
      w.add(p + "self_attn.k_norm.weight", {f.head_dim}, 0.1, 1.0);
    }
    w.add(p + "mlp.gate_proj.weight", {f.inter, f.hidden}, 0.3);
    w.add(p + "mlp.up_proj.weight", {f.inter, f.hidden}, 0.3);
    w.add(p + "mlp.down_proj.weight", {f.hidden, f.inter}, 0.3);
  }
  w.add("model.norm.weight", {f.hidden}, 0.1, 1.0);
  if (!f.tied) w.add("lm_head.weight", {f.vocab, f.hidden}, 0.5);
  return w;
}

nlohmann::json config_of(const Family& f) {
  nlohmann::json c = {{"architectures", {f.architecture}}, {"hidden_size", f.hidden}, {"intermediate_size", f.inter},
                      {"num_hidden_layers", f.layers}, {"num_attention_heads", f.heads},
                      {"num_key_value_heads", f.kv_heads}, {"vocab_size", f.vocab},
                      {"max_position_embeddings", f.context}, {"rms_norm_eps", f.eps}, {"rope_theta", f.theta},
                      {"tie_word_embeddings", f.tied}, {"torch_dtype", "float32"}, {"bos_token_id", 1},
                      {"eos_token_id", {2, 3}}};
  if (f.explicit_head_dim) c["head_dim"] = f.head_dim;
  if (f.rope_type == "llama3") {
    c["rope_scaling"] = {{"rope_type", "llama3"}, {"factor", f.factor}, {"low_freq_factor", 1.0},
                         {"high_freq_factor", 4.0}, {"original_max_position_embeddings", 16}};
  } else if (f.rope_type == "linear") {  // the transformers v5 spelling, theta inside
    c.erase("rope_theta");
    c["rope_parameters"] = {{"rope_type", "linear"}, {"factor", f.factor}, {"rope_theta", f.theta}};
  }
  return c;
}

std::string write_checkpoint(const Family& f, const Weights& w) {
  // Named after the test too: ctest runs tests of this file in parallel processes.
  std::string test = ::testing::UnitTest::GetInstance()->current_test_info()->name();
  auto dir = lmshrink::testing::temp_dir("hf_" + test + "_" + f.name);
  std::ofstream(dir / "config.json") << config_of(f).dump(2);
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  for (const auto& [name, v] : w.values) {
    std::vector<float> f32(v.begin(), v.end());
    tensors.push_back({name, torch::tensor(f32).view(w.shapes.at(name))});
  }
  lmshrink::write_safetensors((dir / "model.safetensors").string(), tensors);
  return dir.string();
}

// ---- float64 reference of transformers' Llama/Qwen modeling ----

Vec inv_freq_reference(const Family& f) {
  Vec inv(f.head_dim / 2);
  for (int i = 0; i < f.head_dim / 2; ++i) inv[i] = 1.0 / std::pow(f.theta, 2.0 * i / f.head_dim);
  if (f.rope_type == "linear") {
    for (double& x : inv) x /= f.factor;
  } else if (f.rope_type == "llama3") {
    const double old_ctx = 16, low = 1.0, high = 4.0, low_wavelen = old_ctx / low, high_wavelen = old_ctx / high;
    for (double& x : inv) {
      double wavelen = 2 * M_PI / x;
      if (wavelen < high_wavelen) continue;                       // high frequency: kept
      if (wavelen > low_wavelen) { x /= f.factor; continue; }     // low frequency: scaled
      double smooth = (old_ctx / wavelen - low) / (high - low);   // in between: interpolated
      x = (1 - smooth) * x / f.factor + smooth * x;
    }
  }
  return inv;
}

Vec rmsnorm(const Vec& x, size_t offset, size_t n, const Vec& w, double eps) {
  double ss = 0;
  for (size_t i = 0; i < n; ++i) ss += x[offset + i] * x[offset + i];
  double inv = 1.0 / std::sqrt(ss / n + eps);
  Vec out(n);
  for (size_t i = 0; i < n; ++i) out[i] = x[offset + i] * inv * w[i];
  return out;
}

Vec linear(const Weights& w, const std::string& name, const Vec& x) {  // W [out, in] x (+ b)
  const Vec& m = w.values.at(name + ".weight");
  size_t out = w.shapes.at(name + ".weight")[0], in = x.size();
  Vec y(out, 0.0);
  for (size_t o = 0; o < out; ++o) {
    for (size_t i = 0; i < in; ++i) y[o] += m[o * in + i] * x[i];
    if (w.values.count(name + ".bias")) y[o] += w.values.at(name + ".bias")[o];
  }
  return y;
}

void rotate_half(Vec& v, size_t offset, int head_dim, int pos, const Vec& inv) {
  int half = head_dim / 2;
  for (int i = 0; i < half; ++i) {
    double c = std::cos(pos * inv[i]), s = std::sin(pos * inv[i]);
    double a = v[offset + i], b = v[offset + half + i];
    v[offset + i] = a * c - b * s;
    v[offset + half + i] = b * c + a * s;
  }
}

std::vector<Vec> reference_logits(const Family& f, const Weights& w, const std::vector<int>& tokens) {
  int T = tokens.size(), group = f.heads / f.kv_heads, hd = f.head_dim;
  Vec inv = inv_freq_reference(f);
  std::vector<Vec> x(T);
  for (int t = 0; t < T; ++t) {
    const Vec& e = w.values.at("model.embed_tokens.weight");
    x[t] = Vec(e.begin() + size_t(tokens[t]) * f.hidden, e.begin() + size_t(tokens[t] + 1) * f.hidden);
  }
  for (int l = 0; l < f.layers; ++l) {
    std::string p = "model.layers." + std::to_string(l) + ".";
    std::vector<Vec> q(T), k(T), v(T);
    for (int t = 0; t < T; ++t) {
      Vec h = rmsnorm(x[t], 0, f.hidden, w.values.at(p + "input_layernorm.weight"), f.eps);
      q[t] = linear(w, p + "self_attn.q_proj", h);
      k[t] = linear(w, p + "self_attn.k_proj", h);
      v[t] = linear(w, p + "self_attn.v_proj", h);
      for (int head = 0; head < f.heads; ++head) {
        if (f.qk_norm) {
          Vec n = rmsnorm(q[t], head * hd, hd, w.values.at(p + "self_attn.q_norm.weight"), f.eps);
          std::copy(n.begin(), n.end(), q[t].begin() + head * hd);
        }
        rotate_half(q[t], head * hd, hd, t, inv);
      }
      for (int head = 0; head < f.kv_heads; ++head) {
        if (f.qk_norm) {
          Vec n = rmsnorm(k[t], head * hd, hd, w.values.at(p + "self_attn.k_norm.weight"), f.eps);
          std::copy(n.begin(), n.end(), k[t].begin() + head * hd);
        }
        rotate_half(k[t], head * hd, hd, t, inv);
      }
    }
    for (int t = 0; t < T; ++t) {
      Vec attended(f.heads * hd, 0.0);
      for (int head = 0; head < f.heads; ++head) {
        int kv = head / group;
        Vec scores(t + 1);
        double max_score = -1e300, sum = 0;
        for (int s = 0; s <= t; ++s) {
          double dot = 0;
          for (int i = 0; i < hd; ++i) dot += q[t][head * hd + i] * k[s][kv * hd + i];
          scores[s] = dot / std::sqrt(double(hd));
          max_score = std::max(max_score, scores[s]);
        }
        for (double& s : scores) sum += (s = std::exp(s - max_score));
        for (int s = 0; s <= t; ++s) {
          for (int i = 0; i < hd; ++i) attended[head * hd + i] += scores[s] / sum * v[s][kv * hd + i];
        }
      }
      Vec o = linear(w, p + "self_attn.o_proj", attended);
      for (int i = 0; i < f.hidden; ++i) x[t][i] += o[i];
      Vec h = rmsnorm(x[t], 0, f.hidden, w.values.at(p + "post_attention_layernorm.weight"), f.eps);
      Vec gate = linear(w, p + "mlp.gate_proj", h), up = linear(w, p + "mlp.up_proj", h);
      for (int i = 0; i < f.inter; ++i) gate[i] = gate[i] / (1 + std::exp(-gate[i])) * up[i];
      Vec down = linear(w, p + "mlp.down_proj", gate);
      for (int i = 0; i < f.hidden; ++i) x[t][i] += down[i];
    }
  }
  std::vector<Vec> logits(T);
  for (int t = 0; t < T; ++t) {
    Vec h = rmsnorm(x[t], 0, f.hidden, w.values.at("model.norm.weight"), f.eps);
    logits[t] = linear(w, f.tied ? "model.embed_tokens" : "lm_head", h);
  }
  return logits;
}

std::vector<Family> families() {
  Family llama{"llama_gqa", "LlamaForCausalLM"};
  llama.eps = 1e-5;
  Family llama3{"llama3_rope", "LlamaForCausalLM"};
  llama3.rope_type = "llama3", llama3.factor = 8.0, llama3.theta = 500000.0, llama3.tied = true;
  Family mistral{"mistral_linear_rope", "MistralForCausalLM"};
  mistral.rope_type = "linear", mistral.factor = 2.0, mistral.kv_heads = 1;
  Family qwen2{"qwen2_bias", "Qwen2ForCausalLM"};
  qwen2.qkv_bias = true, qwen2.tied = true, qwen2.theta = 1000000.0;
  Family qwen3{"qwen3_qknorm", "Qwen3ForCausalLM"};
  qwen3.qk_norm = true, qwen3.explicit_head_dim = true, qwen3.head_dim = 12;  // head_dim != hidden / heads
  return {llama, llama3, mistral, qwen2, qwen3};
}

TEST(HfFamiliesTest, EveryFamilyMatchesFloat64Reference) {
  std::vector<int> tokens;
  for (int t = 0; t < 40; ++t) tokens.push_back((t * 37 + 11) % 64);
  for (const Family& f : families()) {
    Weights w = make_weights(f);
    std::string dir = write_checkpoint(f, w);
    lmshrink::LoadedModel loaded = lmshrink::load_model(dir);
    std::vector<Vec> expected = reference_logits(f, w, tokens);
    at::Tensor ids = torch::tensor(std::vector<int64_t>(tokens.begin(), tokens.end())).view({1, -1});
    at::Tensor logits = loaded.model->forward(ids)[0].to(torch::kFloat64).contiguous();
    double worst = 0;
    for (size_t t = 0; t < tokens.size(); ++t) {
      for (int i = 0; i < f.vocab; ++i) worst = std::max(worst, std::abs(logits[t][i].item<double>() - expected[t][i]));
    }
    EXPECT_LE(worst, 1e-4) << f.name;
    EXPECT_EQ(loaded.model->lm_head_tied(), f.tied) << f.name;
  }
}

TEST(HfFamiliesTest, ConfigFieldsAreRead) {
  Family qwen3 = families()[4];
  std::string dir = write_checkpoint(qwen3, make_weights(qwen3));
  const lmshrink::ModelConfig& c = lmshrink::load_model(dir).model->config();
  EXPECT_EQ(c.head_dim, 12);
  EXPECT_TRUE(c.qk_norm);
  EXPECT_EQ(c.eos_token_ids, (std::vector<int32_t>{2, 3}));
  EXPECT_EQ(c.eos_token_id, 2);
}

void expect_load_error(const Family& f, const std::function<void(nlohmann::json&, Weights&)>& corrupt,
                       const std::string& must_mention) {
  Weights w = make_weights(f);
  nlohmann::json config = config_of(f);
  corrupt(config, w);
  std::string dir = write_checkpoint(f, w);
  std::ofstream(std::filesystem::path(dir) / "config.json") << config.dump(2);
  try {
    lmshrink::load_model(dir);
    ADD_FAILURE() << "expected an error mentioning " << must_mention;
  } catch (const lmshrink::Error& e) {
    EXPECT_NE(std::string(e.what()).find(must_mention), std::string::npos) << e.what();
  }
}

TEST(HfFamiliesTest, BadCheckpointsAreClearErrors) {
  Family llama = families()[0];
  expect_load_error(llama, [](nlohmann::json& c, Weights&) { c["architectures"] = {"GPT2LMHeadModel"}; },
                    "unsupported architecture GPT2LMHeadModel (supported: LlamaForCausalLM");
  expect_load_error(llama, [](nlohmann::json& c, Weights&) { c.erase("hidden_size"); },
                    "missing required integer field \"hidden_size\"");
  expect_load_error(llama, [](nlohmann::json&, Weights& w) { w.values.erase("model.norm.weight"); },
                    "missing tensor model.norm.weight");
  expect_load_error(llama, [](nlohmann::json&, Weights& w) { w.shapes["model.norm.weight"] = {8, 4}; },
                    "model.norm.weight: expected shape [32], got [8, 4]");
  expect_load_error(llama, [](nlohmann::json&, Weights& w) { w.add("model.layers.0.mlp.extra.weight", {2}, 1.0); },
                    "unexpected tensor model.layers.0.mlp.extra.weight");
  expect_load_error(llama, [](nlohmann::json& c, Weights&) { c["rope_scaling"] = {{"rope_type", "yarn"}, {"factor", 2}}; },
                    "rope_scaling type 'yarn' is not supported");
}

TEST(HfFamiliesTest, MistralSlidingWindowIsRefusedBeyondTheWindow) {
  Family mistral = families()[2];
  Weights w = make_weights(mistral);
  std::string dir = write_checkpoint(mistral, w);
  nlohmann::json config = config_of(mistral);
  config["sliding_window"] = 16;
  std::ofstream(std::filesystem::path(dir) / "config.json") << config.dump(2);
  auto model = lmshrink::load_model(dir).model;
  EXPECT_NO_THROW(model->forward(torch::ones({1, 16}, torch::kInt64)));
  EXPECT_THROW(model->forward(torch::ones({1, 17}, torch::kInt64)), lmshrink::Error);
}

TEST(HfFamiliesTest, WrittenCheckpointReloadsToTheSameLogits) {
  Family qwen2 = families()[3];
  auto original = lmshrink::load_model(write_checkpoint(qwen2, make_weights(qwen2))).model;
  auto dir = lmshrink::testing::temp_dir("hf_rewrite");
  lmshrink::write_hf_model(*original, dir.string());
  auto reloaded = lmshrink::load_model(dir.string()).model;
  at::Tensor ids = torch::arange(20, torch::kInt64).view({1, 20});
  EXPECT_TRUE(original->forward(ids).equal(reloaded->forward(ids)));  // both loaded from files: same layouts, same kernels
}

}  // namespace
