"""Operations: the CLI, setup, the demo and the benchmark."""
