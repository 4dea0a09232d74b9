
BlogitsJ(´8ÐÀ(YtÀn_êÀÿ) ÀG×à@uÀØÀD.ÐÀnvÅÀ‹yˆÀ¨!TÀ