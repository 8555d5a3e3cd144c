// The flags of lmshrink compress and their mapping to the option fields (see compress_flags.h).
#include "cli/compress_flags.h"

#include "lmshrink/compress/pipeline.h"
#include "lmshrink/util/error.h"

namespace lmshrink::cli {

// The option fields (compress_options.h) and the flags that set them, for the library's error messages.
const FieldFlags kCompressFlags = {
    {"method", "--method"}, {"ratio", "--ratio"}, {"budget_bytes", "--budget-bytes"}, {"targets", "--targets"},
    {"mode", "--mode"}, {"batch_size", "--batch-size"}, {"low_rank.asvd_alpha", "--asvd-alpha"},
    {"dictionary.atoms_per_nonzero", "--atoms-per-nonzero"}, {"dictionary.accounting", "--accounting"},
    {"accounting", "--accounting"}, {"dictionary.iterations", "--iterations"},
    {"dictionary.power_iterations", "--power-iterations"}, {"dictionary.omp_batch", "--omp-batch"},
    {"dictionary.seed", "--dict-seed"}, {"dictionary.groups", "--groups"}, {"dictionary.tolerance", "--tolerance"},
    {"dictionary.alloc", "--alloc"}, {"dictionary.alloc_min_ratio", "--alloc-min-ratio"},
    {"dictionary.alloc_max_ratio", "--alloc-max-ratio"}, {"dictionary.quantize_bits", "--quantize"},
    {"dictionary.quant_group", "--quant-group"}, {"rocket.alloc", "--alloc"}, {"rocket.grid.rates", "--rates"},
    {"rocket.grid.ks", "--ks"}, {"rocket.importance_exponent", "--importance-exponent"},
    {"rocket.oversparsify", "--oversparsify"}, {"rocket.profile_metric", "--profile-metric"}, {"rocket.precision", "--precision"},
    {"rocket.nll_windows", "--nll-windows"},
    {"rocket.refine_steps", "--refine-steps"}, {"rocket.refine_lr", "--refine-lr"}, {"masa.atoms", "--masa-atoms"},
    {"masa.groups", "--masa-groups"}, {"masa.residual_rank", "--masa-residual-rank"}, {"masa.mix", "--masa-mix"},
    {"calib.n_samples", "--calib-samples"}, {"calib.seq_len", "--calib-seq-len"}};

int quantize_bits(const std::string& name) {
  if (name == "none") return 0;
  if (name == "int8") return 8;
  if (name == "int4") return 4;
  if (name == "auto") return DictionaryOptions::kAutoBits;
  fail("--quantize: expected none, int8, int4 or auto (rocket), got '", name, "'");
}

namespace {

std::string default_text(double value) { return str_cat(" (default ", value, ")"); }

void add_common_flags(CLI::App& cmd, CompressArgs& a) {
  CompressOptions& o = a.options;
  cmd.add_option("--ratio", o.ratio, "fraction of the targeted matrices' parameters to remove, in (0, 1)");
  cmd.add_option("--budget-bytes", a.budget_bytes, "instead of --ratio: bytes for the targeted matrices, against "
                                                   "2 bytes per dense weight (bf16)");
  cmd.add_option("--targets", a.targets, "all (default; attn for masa), attn, mlp, or a comma list of q,k,v,o,gate,up,down")
      ->check([](const std::string& list) { return list.empty() ? std::string("empty list of projections") : std::string(); });
  cmd.add_option("--mode", a.mode, "one-shot (statistics of the original model, default) or sequential "
                                   "(block l calibrated on the compressed blocks before it)");
  add_calibration_flags(cmd, a.calib);
  cmd.add_option("--asvd-alpha", o.low_rank.asvd_alpha, "ASVD scaling exponent" + default_text(o.low_rank.asvd_alpha));
}

void add_dictionary_flags(CLI::App& cmd, CompressArgs& a) {
  DictionaryOptions& d = a.options.dictionary;
  cmd.add_option("--atoms-per-nonzero", d.atoms_per_nonzero, "cospadi/compot: k/s, atoms per nonzero" + default_text(d.atoms_per_nonzero));
  cmd.add_option("--accounting", a.accounting, "cospadi/compot sizes: full (index storage counted) or effective "
                                               "(CoSpaDi eq. 11); default " + a.accounting);
  cmd.add_option("--iterations", d.iterations, "cospadi: K-SVD alternations (default 60); compot: cap (default 20)");
  cmd.add_option("--power-iterations", d.power_iterations, "cospadi: power iterations per atom update" + default_text(d.power_iterations));
  cmd.add_option("--omp-batch", d.omp_batch, "cospadi: columns per Batch-OMP batch" + default_text(d.omp_batch));
  cmd.add_option("--dict-seed", d.seed, "cospadi: dictionary initialisation seed" + default_text(d.seed));
  cmd.add_option("--groups", d.groups, "cospadi/compot: consecutive layers sharing one dictionary (default " +
                                       std::to_string(d.groups) + "; a remainder forms a smaller last group)");
  cmd.add_option("--tolerance", d.tolerance, "compot: stop at this relative objective decrease" + default_text(d.tolerance));
  cmd.add_option("--alloc", a.alloc, "per-matrix rates: uniform (default), dynamic (cospadi/compot: pooled spectrum), "
                                     "mckp (rocket's default: multi-choice knapsack over the profile)");
  cmd.add_option("--alloc-min-ratio", d.alloc_min_ratio, "--alloc dynamic: least ratio of any matrix" + default_text(d.alloc_min_ratio));
  cmd.add_option("--alloc-max-ratio", d.alloc_max_ratio, "--alloc dynamic: largest ratio of any matrix" + default_text(d.alloc_max_ratio));
  cmd.add_option("--quantize", a.quantize, "cospadi/compot/rocket factors: none (default), int8 or int4 (group RTN; sizes and rocket's profile count the codes and scales), or auto (rocket: the knapsack picks 16-bit, int8 or int4 per matrix)");
  cmd.add_option("--quant-group", d.quant_group, "values per fp16 scale with --quantize" + default_text(d.quant_group));
}

void add_rocket_flags(CLI::App& cmd, CompressArgs& a) {
  RocketCompressOptions& r = a.options.rocket;
  cmd.add_option("--profile", a.profile, "rocket: a saved profile (lmshrink profile) instead of profiling here");
  cmd.add_option("--rates", a.rates, "rocket profile: candidate rates, first:last:step or a list (default 0.05:0.70:0.05)");
  cmd.add_option("--ks", a.ks, "rocket profile: candidate r/s ratios, each >= 1 (default 1.0:3.0:0.1)");
  cmd.add_option("--profile-metric", a.profile_metric, "rocket profile: weight (||W - W'|| / ||W||, the reference code's, "
                                                       "default), whitened (||X(W - W')|| / ||XW||) nll or kl (the measured "
                                                       "loss increase or KL from the dense model, one matrix at a time)");
  cmd.add_option("--nll-windows", r.nll_windows, "rocket --profile-metric nll|kl: calibration windows scored" + default_text(r.nll_windows));
  cmd.add_flag("--allow-uncompressed,!--drop-uncompressed", r.allow_uncompressed,
               "rocket mckp: a matrix may stay dense (default); --drop-uncompressed is the reference code's behaviour");
  cmd.add_flag("--no-error-cap", a.no_error_cap, "rocket mckp: skip the α_min error cap of the paper's App. C (never applied "
               "to --profile-metric nll|kl costs)");
  cmd.add_flag("--compot-candidates", r.compot_candidates, "rocket: the profile also offers COMPOT's fit (orthogonal "
               "dictionary, k/s = 2) of every rate, kept where its error is lower");
  cmd.add_option("--precision", r.precision, "rocket mckp: knapsack steps of the total" + default_text(r.precision));
  cmd.add_option("--refine-steps", r.refine_steps, "rocket: Adam steps of local refinement per matrix" + default_text(r.refine_steps));
  cmd.add_option("--refine-lr", r.refine_lr, "rocket: refinement learning rate" + default_text(r.refine_lr));
  cmd.add_option("--importance-exponent", r.importance_exponent, "rocket: λ of |c| ν^λ" + default_text(r.importance_exponent));
  cmd.add_option("--oversparsify", r.oversparsify, "rocket: β, the per-column over-sparsification" + default_text(r.oversparsify));
}

void add_masa_flags(CLI::App& cmd, CompressArgs& a) {
  cmd.add_option("--masa-atoms", a.options.masa.atoms, "masa: atoms S per projection type and group, instead of --ratio (1 <= S <= L)")
      ->check(CLI::Validator([](std::string& v) { return v == "0" ? std::string("S = 0 atoms keep nothing; need 1 <= S <= L") : std::string(); }, "S"));
  cmd.add_option("--masa-groups", a.masa_groups, "masa: 1 (all layers share one bank, default " + a.masa_groups + "), N groups "
                                                 "of consecutive layers cut at the largest logit-lens KL drifts, or auto");
  cmd.add_option("--masa-residual-rank", a.masa_residual_rank, "masa: 0 (default " + a.masa_residual_rank + "), the whitened "
                 "residual rank of q/o (k/v scaled by kv/q size under GQA), or auto (fill the budget)");
  cmd.add_option("--masa-mix", a.masa_mix, "masa: synthesize (W formed once at load) or runtime (mixed per forward); "
                                           "default " + a.masa_mix);
}

}  // namespace

void add_compress_flags(CLI::App& cmd, CompressArgs& args) {
  add_common_flags(cmd, args);
  add_dictionary_flags(cmd, args);
  add_rocket_flags(cmd, args);
  add_masa_flags(cmd, args);
  cmd.add_option("--tokenizer", args.tokenizer, "tokenizer file (default: beside the model)");
  cmd.add_option("--device", args.device, "cpu (default); cuda is not implemented yet");
  cmd.add_option("--json", args.json, "also write the run record here");
  add_checkpoint_flags(cmd, args.checkpoint);
  cmd.add_flag("--force", args.force, "replace the output directory if it exists");
}

CompressOptions compress_options(const CompressArgs& args) {
  CompressOptions options = args.options;
  options.method = parse_method(args.method);
  options.targets = parse_targets(!args.targets.empty() ? args.targets : options.method == Method::kMasa ? "attn" : "all");
  options.mode = parse_mode(args.mode);
  options.batch_size = args.calib.batch_size;
  DictionaryOptions& d = options.dictionary;
  d.accounting = parse_accounting(args.accounting);
  d.quantize_bits = quantize_bits(args.quantize);
  Alloc& alloc = options.method == Method::kRocket ? options.rocket.alloc : d.alloc;
  if (!args.alloc.empty()) alloc = parse_alloc(args.alloc, options.method == Method::kRocket ? "rocket.alloc" : "dictionary.alloc");
  options.rocket.error_cap = !args.no_error_cap;
  if (!args.rates.empty()) options.rocket.grid.rates = parse_grid_list(args.rates, "--rates");
  if (!args.ks.empty()) options.rocket.grid.ks = parse_grid_list(args.ks, "--ks");
  options.rocket.profile_metric = parse_profile_metric(args.profile_metric, "--profile-metric");
  options.masa.groups = parse_masa_spec(args.masa_groups, "masa.groups");
  options.masa.residual_rank = parse_masa_spec(args.masa_residual_rank, "masa.residual_rank");
  options.masa.mix = parse_atom_mix(args.masa_mix);
  return options;
}

}  // namespace lmshrink::cli
