#include "core/app/command.hpp"

int main(int argc, char** argv) { return happy::run_command_line(argc, argv); }
