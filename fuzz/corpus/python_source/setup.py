from setuptools import setup
setup(name="shop", entry_points={"console_scripts": ["shop = shop.cli:main"]},
      python_requires=">=3.10", install_requires=[r'a\nb', """c""", f"{x}"])
