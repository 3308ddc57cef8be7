"""Docker's random container names: ``adjective_surname`` (moby's namesgenerator).

A subset of docker's two lists; the shape (and the one excluded pair) is the same.
"""

from __future__ import annotations

import os
import re

from dockyard.errors import ConfigError

_LEFT_WORDS = (
    "admiring adoring affectionate agitated amazing angry awesome beautiful blissful bold "
    "boring brave busy charming clever compassionate competent condescending confident cool "
    "cranky crazy dazzling determined distracted dreamy eager ecstatic elastic elated elegant "
    "eloquent epic exciting fervent festive flamboyant focused friendly frosty funny gallant "
    "gifted goofy gracious great happy hardcore heuristic hopeful hungry infallible inspiring "
    "intelligent interesting jolly jovial keen kind laughing loving lucid magical modest "
    "musing mystifying naughty nervous nice nifty nostalgic objective optimistic peaceful "
    "pedantic pensive practical priceless quirky quizzical recursing relaxed reverent "
    "romantic sad serene sharp silly sleepy stoic strange stupefied suspicious sweet tender "
    "thirsty trusting unruffled upbeat vibrant vigilant vigorous wizardly wonderful xenodochial "
    "youthful zealous zen"
)

_RIGHT_WORDS = (
    "agnesi albattani allen almeida archimedes ardinghelli aryabhata austin babbage banach "
    "bardeen bartik bassi beaver bell benz bhabha bhaskara blackwell bohr booth borg bose "
    "brahmagupta brattain brown buck burnell cannon carson cartwright chandrasekhar chaplygin "
    "chatelet chatterjee chebyshev cohen colden cori cray curie darwin davinci dewdney dhawan "
    "diffie dijkstra dirac driscoll dubinsky easley edison einstein elbakyan elgamal elion "
    "ellis engelbart euclid euler faraday feistel fermat fermi feynman franklin gagarin galileo "
    "galois gates gauss germain goldberg goldstine goldwasser goodall gould greider hamilton "
    "haslett hawking heisenberg hellman hermann herschel hertz heyrovsky hodgkin hofstadter "
    "hoover hopper hugle hypatia jackson jang jennings jepsen johnson joliot jones kalam "
    "kapitsa kare keldysh keller kepler khorana kilby kirch knuth kowalevski lalande lamarr "
    "lamport leakey leavitt lederberg lehmann lewin lichterman liskov lovelace lumiere "
    "mahavira margulis matsumoto maxwell mayer mccarthy mcclintock mclean mcnulty meitner "
    "mendel mendeleev meninsky merkle mestorf mirzakhani montalcini moore morse moser murdock "
    "napier nash neumann newton nightingale nobel noether northcutt noyce panini pare pascal "
    "pasteur payne perlman pike poincare poitras proskuriakova ptolemy raman ramanujan rhodes "
    "ride ritchie robinson roentgen rosalind rubin saha sammet sanderson satoshi shamir "
    "shannon shaw shirley shockley shtern sinoussi snyder solomon spence stonebraker "
    "sutherland swanson swartz swirles taussig tesla tharp thompson torvalds tu turing "
    "varahamihira vaughan villani visvesvaraya volhard wescoff wilbur wiles williams "
    "williamson wilson wing wozniak wright wu yalow yonath zhukovsky"
)

_LEFT = tuple(_LEFT_WORDS.split(" "))
_RIGHT = tuple(_RIGHT_WORDS.split(" "))

# Docker's rule for --name: [a-zA-Z0-9][a-zA-Z0-9_.-]+
_VALID_NAME = re.compile(r"^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+\Z")


def _pick(count: int) -> int:
    """A uniform index below ``count`` (< 65536), from the kernel's random bytes: the
    ``random`` module would cost ``run`` a millisecond to import."""
    limit = 65536 - 65536 % count  # rejection keeps it unbiased
    while (value := int.from_bytes(os.urandom(2), "little")) >= limit:
        pass
    return value % count


def random_name(retry: int = 0) -> str:
    """``adjective_surname``; after a collision docker appends a digit."""
    while True:
        name = f"{_LEFT[_pick(len(_LEFT))]}_{_RIGHT[_pick(len(_RIGHT))]}"
        if name != "boring_wozniak":  # Steve Wozniak is not boring (docker's own rule)
            break
    return f"{name}{_pick(10)}" if retry else name


def check_name(name: str) -> str:
    """A user-given name without its leading slash; ConfigError if docker would refuse it."""
    if not _VALID_NAME.match(name):
        raise ConfigError(
            f'Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed'
        )
    return name.lstrip("/")
