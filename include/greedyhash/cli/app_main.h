#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>

namespace spdlog {
class logger;
}

namespace greedyhash {

// Runs an executable's body with the project's error contract: flag errors print CLI11's
// message and usage hint; greedyhash::Error prints "<name>: error: <one line>" and
// exits 1; anything else is reported as an internal error (exit 2).
int run_app(const std::string& name, CLI::App& app, int argc, char** argv,
            const std::function<int()>& body);

// A logger writing to the console and, when `log_file` is non-empty, appending to it.
std::shared_ptr<spdlog::logger> make_logger(const std::string& name,
                                            const std::filesystem::path& log_file = {});

}  // namespace greedyhash
