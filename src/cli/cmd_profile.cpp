// lmshrink profile MODEL --calib … -o PROFILE.json: ROCKET's layer profile (compress/rocket_profile.h), the
// per-matrix (rate, best ks, error) table that `lmshrink compress --method rocket --profile PROFILE.json` allocates
// from, so that several target ratios reuse one profiling pass.
#include <chrono>
#include <cstdio>

#include "cli/calibration.h"
#include "cli/commands.h"
#include "cli/compress_flags.h"
#include "lmshrink/compress/nll_probe.h"
#include "lmshrink/compress/pipeline.h"
#include "lmshrink/compress/rocket_profile.h"
#include "lmshrink/io/model_loader.h"
#include "lmshrink/util/error.h"

namespace lmshrink::cli {

namespace {

using Clock = std::chrono::steady_clock;

// The option fields (rocket_profile.h, compress_options.h) and the flags that set them, for library errors.
const FieldFlags kProfileFlags = {{"rocket.grid.rates", "--rates"}, {"rocket.grid.ks", "--ks"}, {"accounting", "--accounting"},
                                  {"targets", "--targets"}, {"rocket.profile_metric", "--profile-metric"}};

struct ProfileArgs {
  std::string model, tokenizer, out, targets = "all", rates, ks, accounting = "full", metric = "weight", quantize = "none";
  int64_t quant_group = 128, nll_windows = 8;
  bool compot_candidates = false;
  double importance_exponent = 0.5, oversparsify = 0.005;
  CalibArgs calib;
};

ProfileSettings profile_settings(const ProfileArgs& args) {
  ProfileSettings settings;
  if (!args.rates.empty()) settings.grid.rates = parse_grid_list(args.rates, "--rates");
  if (!args.ks.empty()) settings.grid.ks = parse_grid_list(args.ks, "--ks");
  check_profile_grid(settings.grid);
  settings.cost.accounting = parse_accounting(args.accounting);
  settings.cost.quantize_bits = quantize_bits(args.quantize);
  LMSHRINK_CHECK(args.quant_group >= 1, "--quant-group must be positive, got ", args.quant_group);
  settings.cost.quant_group = args.quant_group;
  settings.compot_candidates = args.compot_candidates;
  settings.importance_exponent = args.importance_exponent;
  settings.oversparsify = args.oversparsify;
  settings.metric = parse_profile_metric(args.metric, "--profile-metric");
  LMSHRINK_CHECK(args.nll_windows >= 1, "--nll-windows must be positive, got ", args.nll_windows);
  LMSHRINK_CHECK(settings.importance_exponent >= 0 && settings.oversparsify >= 0 && settings.oversparsify < 1,
                 "--importance-exponent must be >= 0 and --oversparsify in [0, 1)");
  return settings;
}

// One line per matrix: the error at a few rates, for a first look (the JSON holds everything).
void print_profile(const std::vector<MatrixProfile>& profile) {
  std::printf("%-40s %9s %s\n", "matrix", "in x out", "rate:ks:error ...");
  for (const MatrixProfile& m : profile) {
    std::printf("%-40s %4lld x %-4lld", m.name.c_str(), static_cast<long long>(m.in_features), static_cast<long long>(m.out_features));
    for (size_t i = 1; i < m.options.size(); i += 3) {
      std::printf(" %.2f:%.1f:%.4f", m.options[i].rate, m.options[i].ks, m.options[i].error);
    }
    std::printf("\n");
  }
}

// --profile-metric nll|kl: how well each proxy ranks the measured ΔNLL and KL of the same options (issue 23 item 1).
void print_metric_agreement(const std::vector<MatrixProfile>& profile) {
  std::vector<double> nll, kl, weight, whitened;
  for (const MatrixProfile& m : profile) {
    for (const ProfileOption& o : m.options) {
      if (o.weight_error < 0) continue;
      nll.push_back(o.measured_nll);
      kl.push_back(o.measured_kl);
      weight.push_back(o.weight_error);
      whitened.push_back(o.whitened_error);
    }
  }
  std::printf("rank correlation over %zu options: with the measured dNLL, weight error %.3f, whitened error %.3f, KL %.3f; "
              "with the measured KL, weight error %.3f, whitened error %.3f\n", nll.size(), rank_correlation(weight, nll),
              rank_correlation(whitened, nll), rank_correlation(kl, nll), rank_correlation(weight, kl),
              rank_correlation(whitened, kl));
}

void run_profile(const ProfileArgs& args) {
  Clock::time_point start = Clock::now();
  ProfileSettings settings = profile_settings(args);
  std::vector<std::string> targets = parse_targets(args.targets);
  LoadedModel loaded = load_model(args.model);
  std::unique_ptr<Tokenizer> tokenizer = load_tokenizer(args.tokenizer, loaded);
  check_record_file(args.out);  // before the profiling, not after it
  Calibration calib = prepare_calibration(args.calib, loaded, *tokenizer, /*one_shot=*/true);
  const std::vector<BlockStats>* cached = calib.cached.empty() ? nullptr : &calib.cached;
  std::vector<MatrixProfile> profile = profile_model(*loaded.model, calib.tokens, targets, settings, args.calib.batch_size, cached);
  if (is_probed_metric(settings.metric)) {
    RocketCompressOptions rocket;
    rocket.importance_exponent = settings.importance_exponent;
    rocket.oversparsify = settings.oversparsify;
    probe_profile_nll(*loaded.model, calib.tokens, profile, cached, args.calib.batch_size, rocket, args.quant_group,
                      {args.nll_windows, args.calib.batch_size, true, settings.metric});
    print_metric_agreement(profile);
  }
  nlohmann::json json = profile_to_json(profile, settings);
  nlohmann::json calibration = calibration_json(calib);
  calibration["tokens"] = calib.tokens.numel();
  calibration["stats_cache"] = calib.cache_status;
  json["model"] = loaded.path;
  json["targets"] = targets;
  json["calibration"] = calibration;
  json["date"] = now_iso8601();
  json["seconds"] = std::chrono::duration<double>(Clock::now() - start).count();
  write_json_file(args.out, json);
  print_profile(profile);
  std::printf("profiled %zu matrices x %zu rates x %zu ks in %.2f s; wrote %s\n", profile.size(), settings.grid.rates.size(),
              settings.grid.ks.size(), json["seconds"].get<double>(), args.out.c_str());
}

}  // namespace

Command add_profile(CLI::App& app) {
  auto a = std::make_shared<ProfileArgs>();
  CLI::App* cmd = app.add_subcommand("profile", "ROCKET layer profile: per matrix, the error of every candidate (rate, ks), "
                                                "for compress --method rocket --profile");
  cmd->add_option("model", a->model, "Hugging Face directory, GGUF file, llama2.c .bin file, or a directory holding one")->required();
  cmd->add_option("-o,--out", a->out, "the profile JSON to write (atomically)")->required();
  cmd->add_option("--targets", a->targets, "all (default), attn, mlp, or a comma list of q,k,v,o,gate,up,down");
  cmd->add_option("--rates", a->rates, "candidate rates, first:last:step or a comma list (default 0.05:0.70:0.05)");
  cmd->add_option("--ks", a->ks, "candidate r/s ratios, each >= 1 (default 1.0:3.0:0.1)");
  cmd->add_option("--accounting", a->accounting, "sizes: full (index storage counted, default) or effective");
  cmd->add_option("--profile-metric", a->metric, "the error: weight (||W - W'|| / ||W||, the reference code's, "
                                                 "default), whitened (||X(W - W')|| / ||XW||) nll or kl (the measured "
                                                 "loss increase or KL from the dense model, one matrix at a time)");
  cmd->add_option("--nll-windows", a->nll_windows, "--profile-metric nll|kl: calibration windows scored (default 8)");
  cmd->add_option("--quantize", a->quantize, "factors as compress --quantize will store them: none (default), int8 or int4 "
                                             "(sizes count codes and scales, errors are of the dequantized layer)");
  cmd->add_option("--quant-group", a->quant_group, "values per fp16 scale with --quantize (default 128)");
  cmd->add_flag("--compot-candidates", a->compot_candidates, "also profile COMPOT's fit (k/s = 2) of every rate, kept "
                "where its error is lower (as compress --compot-candidates)");
  cmd->add_option("--importance-exponent", a->importance_exponent, "λ of the importance |c| ν^λ (default 0.5)");
  cmd->add_option("--oversparsify", a->oversparsify, "β, the per-column over-sparsification (default 0.005)");
  add_calibration_flags(*cmd, a->calib);
  cmd->add_option("--tokenizer", a->tokenizer, "tokenizer file (default: beside the model)");
  return [a] { run_with_flag_names([a] { run_profile(*a); }, kProfileFlags); };
}

}  // namespace lmshrink::cli
