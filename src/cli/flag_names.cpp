// Field names in library errors -> the CLI's flags (see flag_names.h).
#include "cli/flag_names.h"

#include <cctype>

namespace lmshrink::cli {

namespace {

// The leading field name of a message: [a-z0-9_.]+ followed by ':' or " must", or "" when there is none.
std::string leading_field(const std::string& message) {
  size_t end = 0;
  while (end < message.size() && (std::islower(static_cast<unsigned char>(message[end])) ||
                                  std::isdigit(static_cast<unsigned char>(message[end])) || message[end] == '_' ||
                                  message[end] == '.')) {
    ++end;
  }
  bool separated = end > 0 && (message.compare(end, 1, ":") == 0 || message.compare(end, 5, " must") == 0);
  return separated ? message.substr(0, end) : "";
}

std::string flag_of(const std::string& field) {
  std::string flag = "--";
  for (char c : field) flag += (c == '_' || c == '.') ? '-' : c;
  return flag;
}

bool has_flag(const CLI::App& app, const std::string& flag) {
  if (app.get_option_no_throw(flag) != nullptr) return true;
  for (const CLI::App* sub : app.get_subcommands()) {
    if (has_flag(*sub, flag)) return true;
  }
  return false;
}

}  // namespace

std::string with_flag_names(const CLI::App& app, const std::string& message) {
  std::string field = leading_field(message);
  if (field.empty()) return message;
  std::string flag = flag_of(field);
  return has_flag(app, flag) ? flag + message.substr(field.size()) : message;
}

}  // namespace lmshrink::cli
