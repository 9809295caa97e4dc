from fnstore.cli import main

if __name__ == "__main__":  # dask workers started by spawn re-import this module
    main()
