#include "core/app/app.hpp"

int main(int argc, char** argv) { return happy::run_server(argc, argv); }
