"""Labeling functions for GoEmotions' 28 labels (multi-label; data/goemotions/README.md).

Written from general knowledge of how people voice each emotion in Reddit comments (and
dev rows only, never test): a keyword list and a few regexes per label. Each LF targets
one label (``for_label``) and votes APPLIES (1) where it matches, else abstains; the
neutral LF votes APPLIES where no emotion LF matches and DOES_NOT_APPLY where one does.
goemotions_ekman.py groups the same lists into the 7 Ekman labels.
"""

import re

from labeling.lf.core import (ABSTAIN, APPLIES, DOES_NOT_APPLY, for_label, keyword_lf,
                              labeling_function, regex_lf)

KEYWORDS = {
    "admiration": ["amazing", "awesome", "great", "impressive", "incredible", "beautiful",
                   "brilliant", "wonderful", "fantastic", "respect", "legend", "goat",
                   "best", "excellent", "well done", "good job", "nice", "cool", "badass",
                   "genius", "stunning", "gorgeous", "talented", "perfect", "love this"],
    "amusement": ["lol", "lmao", "haha", "hahaha", "lmfao", "rofl", "funny", "hilarious",
                  "hah", "heh", "😂", "🤣", "joke", "laughing", "cracked me up", "lol.",
                  "made me laugh", "dying"],
    "anger": ["angry", "furious", "rage", "pissed", "hate", "fuck you", "fucking",
              "screw you", "mad at", "infuriating", "livid", "shut up", "damn you",
              "bastard", "asshole", "idiot", "stupid"],
    "annoyance": ["annoying", "annoyed", "irritating", "ugh", "smh", "tired of", "sick of",
                  "so dumb", "ridiculous", "can't stand", "fed up", "stop", "whatever",
                  "jesus christ", "seriously"],
    "approval": ["agree", "agreed", "exactly", "yes", "yep", "true", "right", "correct",
                 "fair enough", "good point", "i support", "this is good", "valid",
                 "absolutely", "definitely", "indeed", "makes sense"],
    "caring": ["hope you", "take care", "be careful", "are you ok", "stay safe", "hugs",
               "i'm here for you", "feel better", "get well", "you deserve", "be gentle",
               "you'll be okay", "look after"],
    "confusion": ["confused", "confusing", "don't understand", "do not understand",
                  "what do you mean", "huh", "wtf", "no idea", "not sure", "unsure",
                  "makes no sense", "doesn't make sense", "i don't get", "puzzled"],
    "curiosity": ["curious", "wonder", "wondering", "interesting", "what is", "how does",
                  "how do", "why do", "why does", "is it", "anyone know", "tell me more",
                  "what happened", "source?"],
    "desire": ["i want", "i wish", "wish i", "i'd love", "would love", "i need", "want to",
               "hope to", "can't wait to", "dying to", "i'd kill for", "craving"],
    "disappointment": ["disappointed", "disappointing", "letdown", "let down", "sucks",
                       "too bad", "unfortunately", "shame", "expected better", "bummer",
                       "meh", "what a waste", "sadly"],
    "disapproval": ["disagree", "wrong", "not okay", "not ok", "no way", "bad idea",
                    "shouldn't", "should not", "nope", "not cool", "unacceptable",
                    "don't think so", "not true", "doesn't", "terrible"],
    "disgust": ["disgusting", "gross", "eww", "ew", "yuck", "nasty", "vile", "repulsive",
                "sickening", "revolting", "creepy", "pathetic", "horrible", "makes me sick",
                "trash", "cringe"],
    "embarrassment": ["embarrassed", "embarrassing", "awkward", "ashamed", "cringe",
                      "humiliating", "blush", "oops", "facepalm", "my bad"],
    "excitement": ["excited", "exciting", "can't wait", "hype", "hyped", "woohoo", "yay",
                   "wow", "omg", "let's go", "lets go", "pumped", "thrilled", "woo"],
    "fear": ["afraid", "scared", "scary", "terrified", "terrifying", "fear", "frightening",
             "horrifying", "creepy", "panic", "nightmare", "spooky", "freaked out"],
    "gratitude": ["thank", "thanks", "thank you", "thx", "ty", "grateful", "appreciate",
                  "appreciated", "thankful", "cheers"],
    "grief": ["rip", "rest in peace", "passed away", "died", "death", "funeral", "mourn",
              "grief", "grieving", "loss of", "lost my", "condolences"],
    "joy": ["happy", "glad", "joy", "delighted", "so good", "feels good", "fun", "enjoy",
            "enjoyed", "pleased", "cheerful", "😊", "😀", "😁", ":)", "yay", "smile"],
    "love": ["love", "loved", "loving", "lovely", "adore", "❤", "❤️", "<3", "sweetheart",
             "my heart", "cute", "crush", "so sweet"],
    "nervousness": ["nervous", "anxious", "anxiety", "worried", "worry", "stressed",
                    "stressful", "uneasy", "on edge", "jittery", "scared to"],
    "optimism": ["hope", "hopefully", "fingers crossed", "i think it will", "will be fine",
                 "it'll be ok", "it will get better", "looking forward", "optimistic",
                 "good luck", "someday", "one day", "better days", "i believe"],
    "pride": ["proud", "pride", "accomplished", "achievement", "i did it", "nailed it",
              "so proud"],
    "realization": ["realize", "realized", "realised", "i see", "now i know", "turns out",
                    "til", "oh i get it", "i just noticed", "didn't know", "never knew",
                    "makes sense now", "oh so"],
    "relief": ["relief", "relieved", "phew", "thank god", "thank goodness", "finally",
               "glad it's over", "what a relief", "dodged a bullet"],
    "remorse": ["sorry", "apologize", "apologies", "my fault", "i regret", "regret",
                "feel bad", "forgive me", "i shouldn't have", "my mistake", "guilty"],
    "sadness": ["sad", "sadly", "depressed", "depressing", "heartbreaking", "heartbroken",
                "crying", "cry", "tears", "miss you", "lonely", "unhappy", "hurts", "pain",
                "😢", "😭", "broke my heart", "tragic"],
    "surprise": ["wow", "whoa", "woah", "omg", "surprised", "surprising", "shocked",
                 "shocking", "unexpected", "no way", "can't believe", "cannot believe",
                 "holy shit", "what?!", "really?", "wait what", "didn't expect"],
}

REGEXES = {
    "curiosity": [r"^(how|why|what|where|when|who|is|are|do|does|did|can|could)\b[^.!]*\?"],
    "confusion": [r"\?\?+|\bwhat\?+$"],
    "surprise": [r"!\?|\?!"],
    "excitement": [r"!!+"],
    "gratitude": [r"\bthanks?\b.{0,20}\b(for|so much|a lot)\b"],
    "admiration": [r"\b(so|really|very|truly) (good|great|beautiful|talented|smart)\b"],
    "approval": [r"^(this|that)[.!]*$|^(yes|yep|yeah|true)\b"],
}


def emotion_lfs(keywords: dict, regexes: dict) -> list:
    """Per label: one keyword LF and one LF per regex, each voting APPLIES."""
    lfs = []
    for label, words in keywords.items():
        lfs.append(for_label(label, keyword_lf(words, label=APPLIES, name=f"kw_{label}")))
        for i, pattern in enumerate(regexes.get(label, [])):
            lfs.append(for_label(label, regex_lf(pattern, label=APPLIES,
                                                 name=f"re_{label}_{i}")))
    return lfs


def neutral_lf(emotion: list, name: str = "no_emotion_cue"):
    """Neutral applies where no emotion LF fires and the comment has no '!'; it does not
    where one fires."""
    patterns = [re.compile(lf.pattern.pattern, lf.pattern.flags) for lf in emotion]

    @labeling_function(name=name)
    def no_emotion_cue(x):
        if any(p.search(x.text) for p in patterns):
            return DOES_NOT_APPLY
        return APPLIES if "!" not in x.text else ABSTAIN

    return for_label("neutral", no_emotion_cue)


EMOTION_LFS = emotion_lfs(KEYWORDS, REGEXES)
LFS = EMOTION_LFS + [neutral_lf(EMOTION_LFS)]
