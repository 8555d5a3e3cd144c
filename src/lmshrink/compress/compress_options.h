// The options of a width-compression run (pipeline.h): the method, mode and allocation as enums, each with one name
// table (name <-> value, used to parse and to print), and one struct per method family whose member initialisers
// are the defaults. check_option_fields validates them before any work; its messages name the FIELD
// ("ratio", "dictionary.groups", "masa.residual_rank"), never a CLI flag: the CLI maps field names to its flags.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "lmshrink/compress/dict_size.h"
#include "lmshrink/compress/rocket_profile.h"
#include "lmshrink/model/shared_atoms.h"

namespace lmshrink {

class Transformer;

enum class Method { kSvd, kAsvd, kSvdLlm, kCospadi, kCompot, kRocket, kMasa };
enum class Mode { kOneShot, kSequential };  // streaming.h: statistics of the original model, or of blocks 0..l−1 compressed
enum class Alloc { kUniform, kDynamic, kMckp };  // one rate for all; pooled spectrum (allocation.h); knapsack (rocket_alloc.h)

// Name tables: "svd", "asvd", "svd-llm", "cospadi", "compot", "rocket", "masa"; "one-shot", "sequential";
// "uniform", "dynamic", "mckp". parse_* throws lmshrink::Error naming `field` and the accepted names.
std::string method_name(Method method);
std::string mode_name(Mode mode);
std::string alloc_name(Alloc alloc);
Method parse_method(const std::string& name, const std::string& field = "method");
Mode parse_mode(const std::string& name, const std::string& field = "mode");
Alloc parse_alloc(const std::string& name, const std::string& field = "alloc");
std::string method_names();  // "svd, asvd, svd-llm, cospadi, compot, rocket, masa" for help texts and errors

bool method_needs_calibration(Method method);  // all but svd
bool method_is_dictionary(Method method);      // cospadi, compot

struct LowRankOptions {  // svd, asvd, svd-llm
  double asvd_alpha = 0.5;  // ASVD's scaling exponent
};

struct DictionaryOptions {  // cospadi, compot (accounting and quantization also size rocket)
  double atoms_per_nonzero = 2.0;              // ρ = k / s
  Accounting accounting = Accounting::kFull;   // kFull: index storage counted (eq. 10); kEffective: eq. 11
  int64_t iterations = 0;                      // 0: the method's default (cospadi 60 K-SVD alternations, compot cap 20)
  int64_t power_iterations = 8;                // cospadi rank-1 atom updates
  int64_t omp_batch = 8192;                    // cospadi columns per Batch-OMP batch
  uint64_t seed = 42;                          // cospadi dictionary initialisation
  int64_t groups = 1;                          // consecutive layers sharing one dictionary per projection
  double tolerance = 1e-4;                     // compot: stop when the relative objective decrease falls below
  Alloc alloc = Alloc::kUniform;               // kUniform or kDynamic (pooled spectrum, allocation.h)
  double alloc_min_ratio = 0.05, alloc_max_ratio = 0.80;
  int quantize_bits = 0;                       // 0, 8 or 4: RTN-quantized factors; rocket also kAutoBits
  static constexpr int kAutoBits = -1;         // rocket: the knapsack picks 16-bit, int8 or int4 factors per matrix
  int64_t quant_group = 128;                   // values per fp16 scale
};

struct RocketCompressOptions {  // rocket.h, rocket_profile.h, rocket_alloc.h
  Alloc alloc = Alloc::kMckp;  // kMckp or kUniform
  ProfileGrid grid = default_profile_grid();
  double importance_exponent = 0.5, oversparsify = 0.005;  // λ, β
  ProfileMetric profile_metric = ProfileMetric::kWeight;  // what the profile's errors (the knapsack's costs) measure
  bool allow_uncompressed = true, error_cap = true;
  int64_t precision = 50000;  // knapsack steps of the total
  int64_t refine_steps = 0;
  double refine_lr = 1e-3;
  bool compot_candidates = false;  // the profile also offers COMPOT's fit of every rate (rocket_profile.h)
  int64_t nll_windows = 8;         // profile_metric nll or kl: calibration windows the probe scores (nll_probe.h)
};

struct MasaOptions {  // masa.h: attention projections only; ratio is the fraction of their weights removed
  static constexpr int64_t kAuto = -1;
  int64_t atoms = 0;          // S per projection type and group instead of ratio (0: from ratio)
  int64_t groups = 1;         // 1 (all layers share), N groups, or kAuto (cut at logit-lens KL drifts)
  int64_t residual_rank = 0;  // 0, the q/o residual rank (k/v scaled down under GQA), or kAuto (fill the budget)
  AtomMix mix = AtomMix::kSynthesize;  // how the saved model runs: W formed at load, or mixed per forward
};
std::string masa_spec_name(int64_t spec);                            // "auto" for kAuto, else the number
int64_t parse_masa_spec(const std::string& text, const std::string& field);  // "auto" or an integer >= 0

struct CompressOptions {
  Method method = Method::kSvd;
  double ratio = 0.0;                // fraction of the targeted parameters removed, in (0, 1)
  std::vector<std::string> targets;  // projections: "q_proj", ..., "down_proj" (parse_targets)
  Mode mode = Mode::kOneShot;
  int64_t batch_size = 8;            // calibration samples per block forward
  LowRankOptions low_rank;
  DictionaryOptions dictionary;
  RocketCompressOptions rocket;
  MasaOptions masa;
};

DictCost dict_cost(const CompressOptions& options);  // accounting and quantization of the dictionary options
// The rocket profile a compress run computes for these options: the grid (only the target rate for rocket.alloc
// uniform), the accounting, λ and β.
ProfileSettings profile_settings(const CompressOptions& options);

// Validates method, mode, targets and the method's options against the model before any work (check_compress_options,
// pipeline.h, adds the sizes of the plan). Messages start with the field name ("ratio: ...", "dictionary.groups 9: ...").
void check_option_fields(const Transformer& model, const CompressOptions& options);

}  // namespace lmshrink
