// Name tables of the compression enums, the option helpers and the checks of every field (see compress_options.h).
#include "lmshrink/compress/compress_options.h"

#include "lmshrink/compress/masa.h"
#include "lmshrink/model/transformer.h"
#include "lmshrink/util/error.h"

namespace lmshrink {

namespace {

template <class Enum>
struct NameEntry {
  Enum value;
  const char* name;
};

const NameEntry<Method> kMethodNames[] = {{Method::kSvd, "svd"},         {Method::kAsvd, "asvd"},
                                          {Method::kSvdLlm, "svd-llm"},  {Method::kCospadi, "cospadi"},
                                          {Method::kCompot, "compot"},   {Method::kRocket, "rocket"},
                                          {Method::kMasa, "masa"}};
const NameEntry<Mode> kModeNames[] = {{Mode::kOneShot, "one-shot"}, {Mode::kSequential, "sequential"}};
const NameEntry<Alloc> kAllocNames[] = {{Alloc::kUniform, "uniform"}, {Alloc::kDynamic, "dynamic"}, {Alloc::kMckp, "mckp"}};

template <class Enum, size_t N>
std::string name_of(const NameEntry<Enum> (&table)[N], Enum value) {
  for (const auto& entry : table) {
    if (entry.value == value) return entry.name;
  }
  fail("unnamed enum value ", static_cast<int>(value));
}

template <class Enum, size_t N>
std::string names_of(const NameEntry<Enum> (&table)[N]) {
  std::string names;
  for (const auto& entry : table) names += (names.empty() ? "" : ", ") + std::string(entry.name);
  return names;
}

template <class Enum, size_t N>
Enum parse_name(const NameEntry<Enum> (&table)[N], const std::string& name, const std::string& field) {
  for (const auto& entry : table) {
    if (name == entry.name) return entry.value;
  }
  fail(field, ": unknown value '", name, "' (expected ", names_of(table), ")");
}

void check_rocket_options(const CompressOptions& options) {
  const RocketCompressOptions& r = options.rocket;
  LMSHRINK_CHECK(options.ratio > 0.0 && options.ratio < 1.0, "ratio: expected a fraction in (0, 1), got ", options.ratio);
  LMSHRINK_CHECK(r.alloc == Alloc::kMckp || r.alloc == Alloc::kUniform, "rocket.alloc: rocket takes mckp or uniform, got '",
                 alloc_name(r.alloc), "'");
  LMSHRINK_CHECK(options.dictionary.quantize_bits == 0 || options.dictionary.quantize_bits == 8 ||
                     options.dictionary.quantize_bits == 4 || options.dictionary.quantize_bits == DictionaryOptions::kAutoBits,
                 "dictionary.quantize_bits: expected 0, 8, 4 or -1 (auto: per matrix), got ", options.dictionary.quantize_bits);
  LMSHRINK_CHECK(options.dictionary.quant_group >= 1, "dictionary.quant_group must be positive, got ",
                 options.dictionary.quant_group);
  LMSHRINK_CHECK(options.mode == Mode::kOneShot, "mode: rocket profiles and compresses on one-shot statistics; use one-shot");
  LMSHRINK_CHECK(r.precision >= 1 && r.precision <= 10'000'000, "rocket.precision: expected 1 .. 10,000,000, got ",
                 r.precision);
  LMSHRINK_CHECK(r.nll_windows >= 1, "rocket.nll_windows: expected a positive count, got ", r.nll_windows);
  LMSHRINK_CHECK(r.refine_steps >= 0, "rocket.refine_steps must be >= 0, got ", r.refine_steps);
  LMSHRINK_CHECK(r.refine_lr > 0, "rocket.refine_lr must be > 0, got ", r.refine_lr);
  LMSHRINK_CHECK(r.importance_exponent >= 0, "rocket.importance_exponent must be >= 0, got ", r.importance_exponent);
  LMSHRINK_CHECK(r.oversparsify >= 0 && r.oversparsify < 1, "rocket.oversparsify must lie in [0, 1), got ", r.oversparsify);
  check_profile_grid(r.grid);
}

void check_dictionary_options(const Transformer& model, const CompressOptions& options) {
  const DictionaryOptions& d = options.dictionary;
  bool dict = method_is_dictionary(options.method);
  std::string method = method_name(options.method);
  LMSHRINK_CHECK(d.atoms_per_nonzero >= 1.0, "dictionary.atoms_per_nonzero: k/s must be at least 1, got ", d.atoms_per_nonzero);
  LMSHRINK_CHECK(d.iterations >= 0 && d.power_iterations >= 1 && d.omp_batch >= 1 && d.tolerance >= 0,
                 "dictionary.iterations, dictionary.power_iterations, dictionary.omp_batch and dictionary.tolerance must be "
                 "positive");
  LMSHRINK_CHECK(d.groups >= 1 && d.groups <= model.config().num_layers, "dictionary.groups ", d.groups,
                 ": must lie in [1, ", model.config().num_layers, "] (the model's layers)");
  LMSHRINK_CHECK(d.groups == 1 || dict, "dictionary.groups applies to cospadi and compot, not ", method);
  LMSHRINK_CHECK(d.groups == 1 || options.mode == Mode::kOneShot, "dictionary.groups needs mode one-shot (a group is fitted "
                 "on the statistics of all its layers)");
  if (options.method == Method::kRocket) return check_rocket_options(options);
  LMSHRINK_CHECK(d.alloc == Alloc::kUniform || d.alloc == Alloc::kDynamic, "dictionary.alloc: expected uniform or dynamic, "
                 "got '", alloc_name(d.alloc), "' (mckp is for method rocket)");
  LMSHRINK_CHECK(d.alloc == Alloc::kUniform || dict, "dictionary.alloc dynamic applies to cospadi and compot, not ", method);
  LMSHRINK_CHECK(d.alloc == Alloc::kUniform || d.groups == 1,
                 "dictionary.alloc dynamic allocates per matrix; use dictionary.groups 1");
  LMSHRINK_CHECK(d.quantize_bits == 0 || d.quantize_bits == 8 || d.quantize_bits == 4,
                 "dictionary.quantize_bits: expected 0, 8 or 4, got ", d.quantize_bits);
  bool low_rank = options.method == Method::kSvd || options.method == Method::kAsvd || options.method == Method::kSvdLlm;
  LMSHRINK_CHECK(d.quantize_bits == 0 || dict || low_rank, "dictionary.quantize_bits applies to the factors of svd, asvd, "
                 "svd-llm, cospadi, compot and rocket; ", method, " layers are not quantized by this version");
  LMSHRINK_CHECK(d.quant_group >= 1, "dictionary.quant_group must be positive, got ", d.quant_group);
}

}  // namespace

std::string method_name(Method method) { return name_of(kMethodNames, method); }
std::string mode_name(Mode mode) { return name_of(kModeNames, mode); }
std::string alloc_name(Alloc alloc) { return name_of(kAllocNames, alloc); }
Method parse_method(const std::string& name, const std::string& field) { return parse_name(kMethodNames, name, field); }
Mode parse_mode(const std::string& name, const std::string& field) { return parse_name(kModeNames, name, field); }
Alloc parse_alloc(const std::string& name, const std::string& field) { return parse_name(kAllocNames, name, field); }
std::string method_names() { return names_of(kMethodNames); }

bool method_needs_calibration(Method method) { return method != Method::kSvd; }

bool method_is_dictionary(Method method) { return method == Method::kCospadi || method == Method::kCompot; }

std::string masa_spec_name(int64_t spec) { return spec == MasaOptions::kAuto ? "auto" : std::to_string(spec); }

int64_t parse_masa_spec(const std::string& text, const std::string& field) {
  if (text == "auto") return MasaOptions::kAuto;
  int64_t value = -1;
  try {
    size_t used = 0;
    value = std::stoll(text, &used);
    if (used != text.size()) value = -1;
  } catch (const std::exception&) {
  }
  LMSHRINK_CHECK(value >= 0, field, ": expected auto or a whole number, got '", text, "'");
  return value;
}

DictCost dict_cost(const CompressOptions& options) {
  const DictionaryOptions& d = options.dictionary;
  return DictCost{d.accounting, d.quantize_bits, d.quant_group};
}

void check_option_fields(const Transformer& model, const CompressOptions& options) {
  method_name(options.method);  // throws on a value outside the enum
  mode_name(options.mode);
  LMSHRINK_CHECK(!options.targets.empty(), "targets: no projection selected");
  LMSHRINK_CHECK(options.batch_size > 0, "batch_size: must be positive, got ", options.batch_size);
  LMSHRINK_CHECK(options.low_rank.asvd_alpha > 0.0, "low_rank.asvd_alpha must be positive, got ", options.low_rank.asvd_alpha);
  if (options.method == Method::kMasa) return check_masa_options(model, options);
  check_dictionary_options(model, options);
  if (options.method == Method::kRocket) return;  // sizes come from the profile
  const DictionaryOptions& d = options.dictionary;
  if (d.alloc == Alloc::kDynamic) {  // the plan itself needs every matrix's spectrum: compress_model makes it
    LMSHRINK_CHECK(options.ratio > 0.0 && options.ratio < 1.0, "ratio: expected a fraction in (0, 1), got ", options.ratio);
    LMSHRINK_CHECK(d.alloc_min_ratio >= 0.0 && d.alloc_min_ratio <= d.alloc_max_ratio && d.alloc_max_ratio < 1.0,
                   "dictionary.alloc_min_ratio/dictionary.alloc_max_ratio: need 0 <= min <= max < 1");
  }
}

ProfileSettings profile_settings(const CompressOptions& options) {
  ProfileSettings settings;
  settings.grid = options.rocket.grid;
  if (options.rocket.alloc == Alloc::kUniform) settings.grid.rates = {options.ratio};  // uniform needs the target rate alone
  settings.cost = dict_cost(options);
  settings.importance_exponent = options.rocket.importance_exponent;
  settings.oversparsify = options.rocket.oversparsify;
  settings.metric = options.rocket.profile_metric;
  settings.compot_candidates = options.rocket.compot_candidates;
  return settings;
}

}  // namespace lmshrink
