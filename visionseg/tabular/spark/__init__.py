"""``engine=spark``: feature building and partitional clustering on a Spark session.

Spark reads the transactions (CSV or Parquet) and builds the RFM features with the same
arithmetic as the pandas engine; the preprocessing is fitted on a sample and applied on the
executors; K is chosen on a sample; K-Means, bisecting K-Means or the Gaussian mixture of
Spark MLlib fits every customer. The saved model scores without Spark.
"""
