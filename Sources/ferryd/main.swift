import ArgumentParser
import FerryServer
print("x")
