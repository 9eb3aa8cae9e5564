__version__ = "8.3.100"
__release__ = True
