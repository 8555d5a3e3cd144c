// The saved ROCKET profile's reader (see rocket_profile_format.h).
#include "lmshrink/compress/rocket_profile_format.h"

#include <algorithm>
#include <cmath>

#include "lmshrink/util/error.h"

namespace lmshrink {

namespace {

// A number field (any JSON number); throws naming the field.
double number_field(const nlohmann::json& j, const char* key, const std::string& where) {
  LMSHRINK_CHECK(j.is_object() && j.contains(key) && j[key].is_number(), where, ": \"", key, "\" must be a number");
  return j[key].get<double>();
}

// An integer field in [0, 2^40] (sizes of matrices and counts); throws naming the field.
int64_t count_field(const nlohmann::json& j, const char* key, const std::string& where) {
  LMSHRINK_CHECK(j.is_object() && j.contains(key) && j[key].is_number_integer() &&
                     (j[key].is_number_unsigned() || j[key].get<int64_t>() >= 0) &&
                     j[key].get<uint64_t>() <= (uint64_t{1} << 40),
                 where, ": \"", key, "\" must be an integer in [0, 2^40]");
  return j[key].get<int64_t>();
}

ProfileOption option_from_json(const nlohmann::json& j, const MatrixProfile& m, int default_bits, const std::string& what) {
  std::string where = what + ": " + m.name + ": option";
  ProfileOption o{number_field(j, "rate", where), number_field(j, "ks", where), count_field(j, "atoms", where),
                  count_field(j, "nonzeros", where), number_field(j, "kept_words", where), number_field(j, "error", where),
                  j.contains("bits") ? static_cast<int>(count_field(j, "bits", where)) : default_bits};
  LMSHRINK_CHECK(o.bits == 0 || o.bits == 8 || o.bits == 4, where, ": \"bits\" must be 0, 8 or 4, got ", o.bits);
  if (j.contains("fit")) {
    LMSHRINK_CHECK(j["fit"] == "rocket" || j["fit"] == "compot", where, ": \"fit\" must be \"rocket\" or \"compot\"");
    o.compot = j["fit"] == "compot";
  }
  bool uncompressed = o.rate == 0.0;
  bool sizes_ok = uncompressed ? o.kept_words == m.dense_words
                               : o.nonzeros >= 1 && o.nonzeros <= o.atoms &&
                                     o.atoms <= (o.compot ? m.in_features : std::min(m.in_features, m.out_features)) &&
                                     o.kept_words > 0 && o.kept_words <= m.dense_words;
  LMSHRINK_CHECK(o.rate >= 0.0 && o.rate < 1.0 && std::isfinite(o.ks) && std::isfinite(o.error) && o.error >= 0.0 &&
                     sizes_ok,
                 what, ": ", m.name, ": inconsistent option (rate ", o.rate, ", ks ", o.ks, ", r ", o.atoms, ", s ",
                 o.nonzeros, ", kept words ", o.kept_words, ", error ", o.error, ")");
  return o;
}

MatrixProfile matrix_from_json(const nlohmann::json& j, int default_bits, const std::string& what) {
  LMSHRINK_CHECK(j.is_object() && j.contains("name") && j["name"].is_string(), what, ": every matrix needs a \"name\"");
  std::string where = what + ": " + j["name"].get<std::string>();
  MatrixProfile m{j["name"].get<std::string>(), count_field(j, "in_features", where), count_field(j, "out_features", where),
                  number_field(j, "dense_words", where), {}};
  LMSHRINK_CHECK(m.in_features >= 1 && m.out_features >= 1 && m.in_features <= (int64_t{1} << 24) &&
                     m.out_features <= (int64_t{1} << 24) &&
                     m.dense_words == static_cast<double>(m.in_features) * static_cast<double>(m.out_features),
                 what, ": ", m.name, ": inconsistent shape (", m.in_features, " x ", m.out_features, ", dense words ",
                 m.dense_words, ")");
  LMSHRINK_CHECK(j.at("options").is_array(), what, ": ", m.name, ": options must be a list");
  for (const nlohmann::json& o : j.at("options")) m.options.push_back(option_from_json(o, m, default_bits, what));
  LMSHRINK_CHECK(!m.options.empty(), what, ": ", m.name, " has no options");
  return m;
}

}  // namespace

std::string profile_metric_name(ProfileMetric metric) {
  switch (metric) {
    case ProfileMetric::kWhitened: return "whitened";
    case ProfileMetric::kNll: return "nll";
    case ProfileMetric::kKl: return "kl";
    default: return "weight";
  }
}

ProfileMetric parse_profile_metric(const std::string& name, const std::string& field) {
  if (name == "whitened") return ProfileMetric::kWhitened;
  if (name == "weight") return ProfileMetric::kWeight;
  if (name == "nll") return ProfileMetric::kNll;
  if (name == "kl") return ProfileMetric::kKl;
  fail(field, ": expected weight, whitened, nll or kl, got '", name, "'");
}

std::map<std::string, MatrixProfile> parse_profile_json(const nlohmann::json& json, const std::string& accounting,
                                                         ProfileMetric metric, const std::string& what, int quantize_bits) {
  try {
    LMSHRINK_CHECK(json.is_object() && json.value("format", "") == "lmshrink-rocket-profile" && json.value("version", nlohmann::json()) == 1,
                   what, ": not an lmshrink ROCKET profile (format lmshrink-rocket-profile, version 1)");
    LMSHRINK_CHECK(json.value("accounting", "") == accounting, what, ": profiled with accounting '", json.value("accounting", ""),
                   "', this run uses '", accounting, "' (profile again or set dictionary.accounting)");
    int saved_bits = json.value("quantize_bits", 0);
    LMSHRINK_CHECK(saved_bits == quantize_bits, what, ": profiled with factor quantization ", saved_bits,
                   " bits, this run uses ", quantize_bits, " (0: none; profile again with the same --quantize)");
    std::string saved_metric = json.value("metric", "weight");
    LMSHRINK_CHECK(saved_metric == profile_metric_name(metric), what, ": profiled with metric '", saved_metric,
                   "', this run uses '", profile_metric_name(metric), "' (profile again or set rocket.profile_metric)");
    const nlohmann::json& matrices = json.at("matrices");
    LMSHRINK_CHECK(matrices.is_array() && !matrices.empty(), what, ": the profile lists no matrices");
    std::map<std::string, MatrixProfile> by_name;
    for (const nlohmann::json& j : matrices) {
      MatrixProfile m = matrix_from_json(j, std::max(saved_bits, 0), what);
      by_name[m.name] = std::move(m);
    }
    return by_name;
  } catch (const nlohmann::json::exception& error) {  // a missing field or one of the wrong JSON type
    fail(what, ": not a valid profile (", error.what(), ")");
  }
}

std::map<std::string, MatrixProfile> parse_profile_text(std::string_view text, const std::string& accounting,
                                                         ProfileMetric metric, const std::string& what, int quantize_bits) {
  nlohmann::json json = nlohmann::json::parse(text, nullptr, false);
  LMSHRINK_CHECK(!json.is_discarded(), what, ": not valid JSON (expected an lmshrink ROCKET profile)");
  return parse_profile_json(json, accounting, metric, what, quantize_bits);
}

}  // namespace lmshrink
