// The from-scratch training loop (see trainer.h).
#include "lmshrink/train/trainer.h"

#include <torch/nn/utils/clip_grad.h>
#include <torch/optim/adamw.h>
#include <torch/serialize/archive.h>

#include <chrono>
#include <cmath>
#include <filesystem>

#include "lmshrink/compress/heal.h"  // heal_learning_rate: the same warm-up + cosine schedule
#include "lmshrink/model/next_token_loss.h"
#include "lmshrink/util/error.h"

namespace lmshrink {

at::Tensor token_windows(const std::vector<std::string>& docs, const Tokenizer& tokenizer, int64_t seq_len,
                         const std::string& what) {
  std::vector<int64_t> ids;
  for (const std::string& doc : docs) {
    for (int32_t id : tokenizer.encode(doc, true, false)) ids.push_back(id);
  }
  int64_t windows = static_cast<int64_t>(ids.size()) / seq_len;
  LMSHRINK_CHECK(windows >= 1, what, ": ", ids.size(), " tokens, fewer than one window of ", seq_len);
  return torch::tensor(ids, torch::kInt64).narrow(0, 0, windows * seq_len).view({windows, seq_len}).clone();
}

double validation_perplexity(TrainableModel& trainable, const at::Tensor& windows, int64_t batch_size) {
  torch::NoGradGuard no_grad;
  trainable.refresh_coefficients();
  return std::exp(mean_next_token_loss(*trainable.model, windows, batch_size));
}

namespace {

using Clock = std::chrono::steady_clock;

// The windows of step `step`: positions step·B .. step·B + B − 1 of the endless sequence of per-epoch permutations.
class WindowOrder {
 public:
  WindowOrder(int64_t count, uint64_t seed) : count_(count), seed_(seed) {}
  at::Tensor batch(int64_t step, int64_t batch_size) {
    std::vector<int64_t> picks;
    for (int64_t k = step * batch_size; k < (step + 1) * batch_size; ++k) {
      int64_t epoch = k / count_;
      if (epoch != epoch_) {
        at::Generator generator = at::detail::createCPUGenerator(seed_ * 1000003ULL + static_cast<uint64_t>(epoch));
        order_ = torch::randperm(count_, generator, torch::kLong);
        epoch_ = epoch;
      }
      picks.push_back(order_[k % count_].item<int64_t>());
    }
    return torch::tensor(picks, torch::kInt64);
  }

 private:
  int64_t count_;
  uint64_t seed_;
  int64_t epoch_ = -1;
  at::Tensor order_;
};

void save_checkpoint(const std::string& path, const TrainableModel& trainable, torch::optim::AdamW& adamw, int64_t step) {
  torch::serialize::OutputArchive archive;
  archive.write("step", torch::tensor(step, torch::kInt64));
  archive.write("parameter_count", torch::tensor(static_cast<int64_t>(trainable.parameters.size()), torch::kInt64));
  for (const auto& [name, tensor] : trainable.parameters) archive.write("param." + name, tensor.detach());
  torch::serialize::OutputArchive optimizer;
  adamw.save(optimizer);
  archive.write("optimizer", optimizer);
  std::string temp = path + ".tmp";
  archive.save_to(temp);
  std::filesystem::rename(temp, path);
}

int64_t load_checkpoint(const std::string& path, TrainableModel& trainable, torch::optim::AdamW& adamw) {
  LMSHRINK_CHECK(std::filesystem::exists(path), "resume: no checkpoint at ", path);
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(path);
  } catch (const std::exception& e) {
    fail(path, ": not a training checkpoint (", e.what(), ")");
  }
  at::Tensor step, count;
  archive.read("step", step);
  archive.read("parameter_count", count);
  LMSHRINK_CHECK(count.item<int64_t>() == static_cast<int64_t>(trainable.parameters.size()), path, ": checkpoint holds ",
                 count.item<int64_t>(), " parameters, this config builds ", trainable.parameters.size());
  torch::NoGradGuard no_grad;
  for (auto& [name, tensor] : trainable.parameters) {
    at::Tensor saved;
    archive.read("param." + name, saved);
    LMSHRINK_CHECK(saved.sizes() == tensor.sizes(), path, ": ", name, " has shape ", saved.sizes(), ", the config gives ",
                   tensor.sizes());
    tensor.copy_(saved);
  }
  torch::serialize::InputArchive optimizer;
  archive.read("optimizer", optimizer);
  adamw.load(optimizer);
  return step.item<int64_t>();
}

// Two groups: matrices with weight decay, vectors (norms, biases) and the coefficient embeddings without.
std::vector<torch::optim::OptimizerParamGroup> param_groups(const TrainableModel& trainable, double weight_decay, double lr) {
  std::vector<at::Tensor> decayed, plain;
  for (const auto& [name, tensor] : trainable.parameters) {
    bool embedding = name.find(".mlp.embedding") != std::string::npos;
    (tensor.dim() >= 2 && !embedding ? decayed : plain).push_back(tensor);
  }
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(decayed, std::make_unique<torch::optim::AdamWOptions>(torch::optim::AdamWOptions(lr).weight_decay(weight_decay)));
  groups.emplace_back(plain, std::make_unique<torch::optim::AdamWOptions>(torch::optim::AdamWOptions(lr).weight_decay(0.0)));
  return groups;
}

}  // namespace

TrainResult train_model(TrainableModel& trainable, const TrainConfig& config, const at::Tensor& train_windows,
                        const at::Tensor& valid_windows, const std::string& checkpoint, bool resume,
                        const std::function<void(const TrainStep&)>& on_step) {
  LMSHRINK_CHECK(train_windows.dim() == 2 && train_windows.size(1) == config.seq_len, "train: windows must be [n, ",
                 config.seq_len, "]");
  LMSHRINK_CHECK(train_windows.size(0) >= config.batch_size, "train: the corpus holds ", train_windows.size(0),
                 " windows of ", config.seq_len, " tokens, fewer than one batch of ", config.batch_size);
  LMSHRINK_CHECK(valid_windows.dim() == 2 && valid_windows.size(0) >= 1, "train: no validation window");
  torch::optim::AdamW adamw(param_groups(trainable, config.weight_decay, config.lr),
                            torch::optim::AdamWOptions(config.lr).weight_decay(config.weight_decay));
  std::vector<at::Tensor> all;
  for (const auto& [name, tensor] : trainable.parameters) all.push_back(tensor);
  TrainResult result;
  if (resume) result.first_step = load_checkpoint(checkpoint, trainable, adamw);
  HealOptions schedule;
  schedule.lr = config.lr;
  schedule.warmup_fraction = config.warmup_fraction;
  WindowOrder order(train_windows.size(0), config.seed);
  Clock::time_point start = Clock::now();
  for (int64_t step = result.first_step; step < config.steps; ++step) {
    at::Tensor batch = train_windows.index_select(0, order.batch(step, config.batch_size));
    double lr = heal_learning_rate(schedule, step, config.steps);
    for (auto& group : adamw.param_groups()) group.options().set_lr(lr);
    adamw.zero_grad();
    trainable.refresh_coefficients();
    at::Tensor loss = next_token_loss(*trainable.model, batch);
    loss.backward();
    if (config.clip_norm > 0) torch::nn::utils::clip_grad_norm_(all, config.clip_norm);
    adamw.step();
    result.losses.push_back(loss.item<double>());
    result.tokens += batch.numel();
    ++result.steps;
    double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    if (on_step) on_step({step, result.losses.back(), lr, static_cast<double>(result.tokens) / std::max(seconds, 1e-9)});
    bool last = step + 1 == config.steps;
    if (last || (config.eval_every > 0 && (step + 1) % config.eval_every == 0)) {
      result.valid_ppl.push_back({step + 1, validation_perplexity(trainable, valid_windows, config.batch_size)});
    }
    if (!checkpoint.empty() && (last || (config.checkpoint_every > 0 && (step + 1) % config.checkpoint_every == 0))) {
      save_checkpoint(checkpoint, trainable, adamw, step + 1);
    }
  }
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  {
    torch::NoGradGuard no_grad;
    trainable.refresh_coefficients();  // the banks hold the final MLP output, detached from this step's graph
    for (auto& bank : trainable.banks) bank->coefficients = bank->coefficients.detach();
  }
  return result;
}

}  // namespace lmshrink
