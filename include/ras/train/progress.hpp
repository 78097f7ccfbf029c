// ras/train/progress.hpp — a one-line progress bar for long loops (training epochs, feature
// extraction): count, rate, ETA and a free-form status (the loss). On a terminal it redraws in
// place; otherwise it prints a line at most every `min_interval` seconds and at the end.
#pragma once

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>

namespace ras::train {

class ProgressBar {
 public:
  ProgressBar(std::string label, long total, const char* unit = "it", std::FILE* out = stderr,
              double min_interval = 5.0)
      : label_(std::move(label)), unit_(unit), total_(total), out_(out), min_interval_(min_interval),
        tty_(isatty(fileno(out)) != 0), start_(Clock::now()), last_(start_) {}

  // Reports that `done` of `total` units are finished.
  void update(long done, const std::string& status = "", bool force = false) {
    const auto now = Clock::now();
    const double since_last = std::chrono::duration<double>(now - last_).count();
    const bool finished = done >= total_;
    if (!force && !finished && since_last < (tty_ ? 0.2 : min_interval_)) return;
    last_ = now;
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    const double rate = elapsed > 0 ? done / elapsed : 0.0;
    const double eta = rate > 0 ? (total_ - done) / rate : 0.0;
    constexpr int width = 24;
    const int filled = total_ > 0 ? static_cast<int>(width * double(done) / double(total_)) : width;
    std::string bar(static_cast<std::size_t>(filled), '#');
    bar.resize(width, '.');
    std::fprintf(out_, "%s%s [%s] %ld/%ld %.1f %s/s elapsed %s ETA %s%s%s%s", tty_ ? "\r" : "", label_.c_str(),
                 bar.c_str(), done, total_, rate, unit_, clock_string(elapsed).c_str(), clock_string(eta).c_str(),
                 status.empty() ? "" : " ", status.c_str(), tty_ ? "\033[K" : "\n");
    if (tty_ && finished) std::fputc('\n', out_);
    std::fflush(out_);
  }

  static std::string clock_string(double seconds) {
    long s = static_cast<long>(seconds + 0.5);
    char buf[32];
    if (s >= 3600) std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
    else std::snprintf(buf, sizeof buf, "%02ld:%02ld", s / 60, s % 60);
    return buf;
  }

 private:
  using Clock = std::chrono::steady_clock;
  std::string label_;
  const char* unit_;
  long total_;
  std::FILE* out_;
  double min_interval_;
  bool tty_;
  Clock::time_point start_, last_;
};

}  // namespace ras::train
