"""Profile tinynet's side of a workload: ``python -m benchmarks.profile_tinynet W1 [--pyinstrument]``.

Runs the workload's ``fit`` a few times under cProfile (or pyinstrument when
asked and installed) and prints where the time goes, to explain a ratio above
its goal.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats

from .run_all import cnn_model_and_data, mlp_model_and_data

SHAPES = {
    "W1": ([784, 256, 128, 10], "softmax", 10_000, 128, 1),
    "W2": ([8, 10, 1], "sigmoid", 768, 32, 10),
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile_tinynet")
    parser.add_argument("workload", choices=["W1", "W2", "W3"])
    parser.add_argument("--repeat", type=int, default=5, help="fit calls profiled")
    parser.add_argument("--pyinstrument", action="store_true")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)
    if args.workload == "W3":
        model, x, y, batch, epochs = cnn_model_and_data()
    else:
        sizes, head, n, batch, epochs = SHAPES[args.workload]
        model, x, y = mlp_model_and_data(sizes, head, n)
    model.fit(x, y, epochs=1, batch_size=batch, verbose=0)  # warm-up: buffers, optimizer plan

    def work():
        for _ in range(args.repeat):
            model.fit(x, y, epochs=epochs, batch_size=batch, verbose=0)

    if args.pyinstrument:
        from pyinstrument import Profiler

        with Profiler(interval=0.0002) as profiler:
            work()
        print(profiler.output_text(unicode=True, color=False))
        return
    profiler = cProfile.Profile()
    profiler.runcall(work)
    pstats.Stats(profiler).sort_stats("tottime").print_stats(args.top)


if __name__ == "__main__":
    main()
