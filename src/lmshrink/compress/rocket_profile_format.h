// The saved ROCKET profile, without libtorch: {"format": "lmshrink-rocket-profile", "version": 1, "accounting",
// "importance_exponent", "oversparsify", "grid", "matrices": [{name, in_features, out_features, dense_words,
// options: [{rate, ks, atoms, nonzeros, kept_words, error}]}]}. parse_profile_text is the buffer entry point the
// fuzzers drive (fuzz/); rocket_profile.h matches the result against a model.
#pragma once
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace lmshrink {

struct ProfileOption {
  double rate = 0.0, ks = 0.0;  // rate 0: uncompressed
  int64_t atoms = 0, nonzeros = 0;
  double kept_words = 0.0;
  double error = 0.0;  // ‖Ŵ − W‖_F / ‖W‖_F
};

struct MatrixProfile {
  std::string name;
  int64_t in_features = 0, out_features = 0;
  double dense_words = 0.0;             // d1 d2
  std::vector<ProfileOption> options;   // the uncompressed option, then the best ks per rate, by rate
};

// The matrices of a saved profile by name, every option checked for consistency (sizes within the matrix, finite
// non-negative errors). Throws lmshrink::Error naming `what` (the file) on another format or version, another
// accounting than `accounting`, an empty or inconsistent profile, or a field of the wrong JSON type.
std::map<std::string, MatrixProfile> parse_profile_json(const nlohmann::json& json, const std::string& accounting,
                                                         const std::string& what);
std::map<std::string, MatrixProfile> parse_profile_text(std::string_view text, const std::string& accounting,
                                                         const std::string& what);

}  // namespace lmshrink
