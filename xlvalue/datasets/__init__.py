"""Datasets shipped inside the package (loaded with importlib.resources).

CDNOW: purchases of compact discs at the online retailer CDNOW (Fader, Hardie & Lee 2005),
as redistributed by the MIT-licensed `lifetimes` package (lifetimes/datasets/).
Donations (donations.csv, BG/BB): from the same package. lifetimes is Copyright (c) 2015
Cameron Davidson-Pilon, MIT License.
"""

from __future__ import annotations

import gzip
from importlib import resources

import pandas as pd

__all__ = ["load_cdnow_master", "load_cdnow_sample", "load_cdnow_summary", "load_donations"]


def _open(name: str):
    return resources.files(__package__).joinpath(name).open("rb")


def load_cdnow_sample() -> pd.DataFrame:
    """CDNOW 1/10 sample: 6,919 purchases of 2,357 customers, 1997-01-01 .. 1998-06-30.

    Columns: CustomerID (text, master id), SampleID (the id of the published summary), Date,
    CDs, Amount.
    """
    with _open("CDNOW_sample.txt") as fh:
        raw = pd.read_csv(fh, sep=r"\s+", header=None, dtype={0: str, 1: str, 2: str},
                          names=["master_id", "sample_id", "date", "cds", "amount"])
    return pd.DataFrame({
        "CustomerID": raw["master_id"].astype(str),
        "SampleID": raw["sample_id"].astype(int),
        "Date": pd.to_datetime(raw["date"], format="%Y%m%d"),
        "CDs": raw["cds"].astype(int),
        "Amount": raw["amount"].astype(float),
    })


def load_cdnow_master() -> pd.DataFrame:
    """CDNOW full log: 69,659 purchases of 23,570 customers."""
    with _open("CDNOW_master.txt.gz") as fh, gzip.open(fh) as gz:
        raw = pd.read_csv(gz, sep=r"\s+", dtype={"customer_id": str, "date": str})
    return pd.DataFrame({
        "CustomerID": raw["customer_id"],
        "Date": pd.to_datetime(raw["date"], format="%Y%m%d"),
        "CDs": raw["number_of_cds"].astype(int),
        "Amount": raw["dollar_value"].astype(float),
    })


def load_cdnow_summary() -> pd.DataFrame:
    """Published repeat-purchase summary of the sample (ID, frequency, recency, T in weeks)."""
    with _open("cdnow_customers_summary.csv") as fh:
        return pd.read_csv(fh)


def load_donations() -> pd.DataFrame:
    """Donations: the 1995 cohort of first-time donors to a US non-profit (11,104 donors) and
    whether they gave in each of 1996-2001 (6 opportunities), as 22 (frequency, recency,
    periods, weights) histories (Fader, Hardie & Shang 2010), redistributed by the
    MIT-licensed `lifetimes` package (lifetimes/datasets/donations.csv)."""
    with _open("donations.csv") as fh:
        return pd.read_csv(fh)
