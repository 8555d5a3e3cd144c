// Name tables of the compression enums and the small option helpers (see compress_options.h).
#include "lmshrink/compress/compress_options.h"

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

Alloc effective_alloc(const CompressOptions& options) {
  return options.method == Method::kRocket ? options.rocket.alloc : options.dictionary.alloc;
}

DictCost dict_cost(const CompressOptions& options) {
  const DictionaryOptions& d = options.dictionary;
  return DictCost{d.accounting, d.quantize_bits, d.quant_group};
}

}  // namespace lmshrink
