// The saved ROCKET profile, without libtorch: {"format": "lmshrink-rocket-profile", "version": 1, "accounting",
// "metric" (absent in profiles written before it existed: those are "weight"), "importance_exponent", "oversparsify", "grid", "matrices": [{name, in_features, out_features, dense_words,
// options: [{rate, ks, atoms, nonzeros, kept_words, error}]}]}. parse_profile_text is the buffer entry point the
// fuzzers drive (fuzz/); rocket_profile.h matches the result against a model.
#pragma once
#include <cstdint>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace lmshrink {

// What a profile's error measures (issue 23 item 1):
//   weight    ‖W − Ŵ‖_F / ‖W‖_F, the reference code's (and the paper's Table 6) unweighted metric (the default);
//   whitened  ‖X (W − Ŵ)‖_F / ‖X W‖_F, the calibration-weighted error, from the Gram already held;
//   nll       the measured increase of the calibration loss when the matrix alone takes the option (nll_probe.h), ks
//             chosen per rate by the whitened error;
//   kl        as nll, but the measured mean KL(p ‖ p̂) of the next-token distributions (nll_probe.h).
enum class ProfileMetric { kWhitened, kWeight, kNll, kKl };
inline bool is_probed_metric(ProfileMetric metric) { return metric == ProfileMetric::kNll || metric == ProfileMetric::kKl; }
std::string profile_metric_name(ProfileMetric metric);
ProfileMetric parse_profile_metric(const std::string& name, const std::string& field);  // throws naming `field`

struct ProfileOption {
  double rate = 0.0, ks = 0.0;  // rate 0: uncompressed
  int64_t atoms = 0, nonzeros = 0;
  double kept_words = 0.0;
  double error = 0.0;  // the profile's metric: ‖X (Ŵ − W)‖_F / ‖X W‖_F or ‖Ŵ − W‖_F / ‖W‖_F
  int bits = 0;        // factors: 0 (16-bit), 8 or 4 (RTN; sizes and error of the dequantized layer)
  bool compot = false; // the fit is COMPOT's orthogonal dictionary (compot.h) at k/s = 2, not ROCKET's
  // Filled by the ΔNLL probe (nll_probe.h), −1 / NaN otherwise: both proxies of the stored layer and the measured ΔNLL.
  double weight_error = -1.0, whitened_error = -1.0, measured_nll = std::numeric_limits<double>::quiet_NaN(),
         measured_kl = std::numeric_limits<double>::quiet_NaN();
};

struct MatrixProfile {
  std::string name;
  int64_t in_features = 0, out_features = 0;
  double dense_words = 0.0;             // d1 d2
  std::vector<ProfileOption> options;   // the uncompressed option, then the best ks per rate, by rate
};

// The matrices of a saved profile by name, every option checked for consistency (sizes within the matrix, finite
// non-negative errors). Throws lmshrink::Error naming `what` (the file) on another format or version, another
// accounting than `accounting` or another metric than `metric`, an empty or inconsistent profile, or a field of the wrong JSON type.
// quantize_bits: the run's factor quantization (0, 8, 4, or -1: per matrix), which must equal the profile's
// "quantize_bits" (absent: 0). An option's "bits" (absent: the profile's, or 0) must be 0, 8 or 4.
std::map<std::string, MatrixProfile> parse_profile_json(const nlohmann::json& json, const std::string& accounting,
                                                         ProfileMetric metric, const std::string& what, int quantize_bits = 0);
std::map<std::string, MatrixProfile> parse_profile_text(std::string_view text, const std::string& accounting,
                                                         ProfileMetric metric, const std::string& what, int quantize_bits = 0);

}  // namespace lmshrink
