// examples/ras/args.hpp — a small command-line parser for the `ras` program: --name value options
// (repeatable ones collect every value), --flags, and positional arguments; unknown options and
// missing values are errors that name the option.
#pragma once

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "ras/config.hpp"

namespace ras_cli {

struct OptionSpec {
  std::string name;     // without the leading "--"
  std::string help;
  bool flag = false;    // takes no value
  bool repeat = false;  // may be given several times
  std::string default_value;

  OptionSpec(std::string n, std::string h, bool is_flag = false, bool repeatable = false, std::string def = "")
      : name(std::move(n)), help(std::move(h)), flag(is_flag), repeat(repeatable), default_value(std::move(def)) {}
};

class Args {
 public:
  Args(std::string command, std::string synopsis, std::vector<OptionSpec> specs)
      : command_(std::move(command)), synopsis_(std::move(synopsis)), specs_(std::move(specs)) {
    specs_.push_back({"help", "show this help", true});
  }

  void parse(int argc, char** argv, int first) {
    for (int i = first; i < argc; ++i) {
      std::string a = argv[i];
      if (a.rfind("--", 0) != 0 || a == "--") {
        positional_.push_back(a);
        continue;
      }
      std::string name = a.substr(2), value;
      bool has_value = false;
      if (auto eq = name.find('='); eq != std::string::npos) {
        value = name.substr(eq + 1);
        name = name.substr(0, eq);
        has_value = true;
      }
      const OptionSpec* spec = find(name);
      RAS_CHECK(spec != nullptr, "ras ", command_, ": unknown option --", name, " (see ras ", command_, " --help)");
      if (spec->flag) {
        RAS_CHECK(!has_value, "ras ", command_, ": --", name, " takes no value");
        values_[name].push_back("1");
        continue;
      }
      if (!has_value) {
        RAS_CHECK(i + 1 < argc, "ras ", command_, ": --", name, " needs a value");
        value = argv[++i];
      }
      RAS_CHECK(spec->repeat || values_[name].empty(), "ras ", command_, ": --", name, " given twice");
      values_[name].push_back(value);
    }
  }

  bool help() const { return has("help"); }
  bool has(const std::string& name) const { return values_.count(name) != 0; }
  std::string get(const std::string& name) const {
    auto it = values_.find(name);
    if (it != values_.end()) return it->second.back();
    const OptionSpec* s = find(name);
    return s ? s->default_value : "";
  }
  std::vector<std::string> all(const std::string& name) const {
    auto it = values_.find(name);
    return it == values_.end() ? std::vector<std::string>{} : it->second;
  }
  std::string required(const std::string& name) const {
    RAS_CHECK(has(name) || !get(name).empty(), "ras ", command_, ": --", name, " is required (see ras ", command_,
              " --help)");
    return get(name);
  }
  long integer(const std::string& name) const { return to_number<long>(name, get(name)); }
  double real(const std::string& name) const { return to_number<double>(name, get(name)); }
  // Range-checked forms: a value outside [lo, hi] (or not finite) is an error naming the option.
  long integer(const std::string& name, long lo, long hi) const {
    const long v = integer(name);
    RAS_CHECK(v >= lo && v <= hi, "ras ", command_, ": --", name, " expects an integer in [", lo, ", ", hi,
              "] but got '", get(name), "'");
    return v;
  }
  double real(const std::string& name, double lo, double hi) const {
    const double v = real(name);
    RAS_CHECK(std::isfinite(v) && v >= lo && v <= hi, "ras ", command_, ": --", name, " expects a number in [", lo,
              ", ", hi, "] but got '", get(name), "'");
    return v;
  }
  const std::vector<std::string>& positional() const { return positional_; }

  std::string usage() const {
    std::string s = "usage: ras " + command_ + " " + synopsis_ + "\n\noptions:\n";
    for (const auto& o : specs_) {
      std::string left = "  --" + o.name + (o.flag ? "" : " VALUE");
      left.resize(std::max<std::size_t>(left.size() + 2, 26), ' ');
      s += left + o.help;
      if (!o.default_value.empty()) s += " (default: " + o.default_value + ")";
      if (o.repeat) s += " [repeatable]";
      s += "\n";
    }
    return s;
  }

 private:
  const OptionSpec* find(const std::string& name) const {
    for (const auto& s : specs_)
      if (s.name == name) return &s;
    return nullptr;
  }
  template <class T>
  T to_number(const std::string& name, const std::string& v) const {
    char* end = nullptr;
    errno = 0;
    T x;
    if constexpr (std::is_same_v<T, long>) x = std::strtol(v.c_str(), &end, 10);
    else x = std::strtod(v.c_str(), &end);
    RAS_CHECK(!v.empty() && end && *end == '\0' && errno == 0, "ras ", command_, ": --", name,
              std::is_same_v<T, long> ? " expects an integer" : " expects a number", " but got '", v.substr(0, 64),
              "'");
    return x;
  }

  std::string command_, synopsis_;
  std::vector<OptionSpec> specs_;
  std::map<std::string, std::vector<std::string>> values_;
  std::vector<std::string> positional_;
};

}  // namespace ras_cli
