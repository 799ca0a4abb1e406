#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace greedyhash {

struct PlotSeries {
  std::string name;  // legend entry
  std::vector<double> x;
  std::vector<double> y;
};

struct LinePlot {
  std::string title;
  std::string x_label;
  std::string y_label;
  std::vector<PlotSeries> series;
  bool log_x = false;  // for precision@N, whose N spans 100 .. 59,000
};

// Draws the plot with axes, ticks, axis labels, a title and a legend, and writes it as a
// PNG (atomically). Axis ranges cover the data; y always includes [0, 1] for metrics.
// Without OpenCV (GREEDYHASH_WITH_OPENCV=OFF): writes nothing and logs a warning.
void save_line_plot(const std::filesystem::path& path, const LinePlot& plot);

}  // namespace greedyhash
