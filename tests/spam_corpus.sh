# spam_corpus.sh -- sourced by the SPAM pipeline's tests on the
# SpamAssassin public corpus (bayes_accuracy.sh, bayes_lossless.sh): the
# corpus's folders, skipping (exit 77) when they are absent, and the one
# training command both use: ham = easy_ham, easy_ham_2, hard_ham; spam =
# spam, spam_2; the test part of --split test=20 held out; a mail is
# spam at a score of 0.85 or more (chosen by 10-fold cross-validation
# on the train part: README.md, "The SPAM pipeline").

# spam_corpus_require TEST DATA_DIR: exits 77 unless every folder is there.
spam_corpus_require() {
  local d
  for d in easy_ham easy_ham_2 hard_ham spam spam_2; do
    if [ ! -d "$2/$d" ]; then
      echo "SKIP $1: $2/$d not found (the SpamAssassin corpus is not on this machine)"
      exit 77
    fi
  done
}

# spam_corpus_train SCALANYTICS DATA_DIR MODEL [OPTIONS...]: trains MODEL.
spam_corpus_train() {
  local bin=$1 data=$2 model=$3
  shift 3
  "$bin" train-bayes --class "ham=$data/easy_ham,$data/easy_ham_2,$data/hard_ham" \
      --class "spam=$data/spam,$data/spam_2" --split test=20 --threshold spam=0.85 \
      -o "$model" "$@"
}
