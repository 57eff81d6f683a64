"""Prose bank for the built-in sample corpus, written for this project.

Pure data, no logic: :mod:`curation.sample.corpus` composes documents from it with a seeded RNG. Paragraphs are
grouped by topic; sentences within a paragraph are written to stand fairly well on their own, because the composer
sometimes drops one to make documents differ. German (``de_*``) and French (``fr_*``) topics keep to characters
that windows-1252 can encode, and German to ISO-8859-1, since the sample serves them in those charsets.
"""

# Topic -> paragraphs (each 60-150 words of genuine prose).
PARAGRAPHS: dict[str, tuple[str, ...]] = {
    "cooking": (
        "A good stock is the quiet foundation of most soups and sauces. Roast the bones until they are deeply "
        "browned, because the colour you build in the oven becomes the flavour in the pot. Cover them with cold "
        "water, bring it slowly to a bare simmer and skim the grey foam that rises in the first half hour. Never "
        "let it boil hard, or the fat emulsifies and the stock turns cloudy. After four or five hours, strain it "
        "through a fine sieve, cool it quickly and lift off the fat once it has set.",
        "Salting meat well ahead of cooking changes more than its taste. When you salt a chicken the night before, "
        "the salt first draws moisture out of the surface and then dissolves into it, and the brine is slowly "
        "reabsorbed into the flesh. The proteins loosen and hold on to more water during roasting, so the meat "
        "stays juicy even if you overshoot the temperature by a few degrees. Leave the bird uncovered in the "
        "fridge, and the skin dries enough to turn crisp and glassy in a hot oven.",
        "Onions deserve more patience than most recipes admit. A recipe that promises caramelised onions in ten "
        "minutes is describing onions that are merely browned at the edges. True caramelisation takes forty "
        "minutes to an hour over low heat, with a splash of water whenever the bottom of the pan starts to "
        "catch. The onions collapse, turn the colour of strong tea and become remarkably sweet. Make a large "
        "batch on a quiet afternoon and freeze it in small portions for soups, tarts and sandwiches.",
        "Bread dough tells you when it is ready if you learn to read it. Under-proofed dough springs back "
        "instantly when you press it with a floured finger, while over-proofed dough stays dented and may even "
        "sigh and deflate. The moment you want lies between the two: the dent fills back slowly and not quite "
        "completely. Kitchen temperature matters far more than the times printed in a recipe, so a cold winter "
        "kitchen can easily double the rise. Watch the dough, not the clock.",
        "A well-seasoned cast iron pan is less fragile than its reputation suggests. Wash it with hot water and "
        "a little soap if you need to, dry it straight away over a low flame, and wipe a thin film of oil over "
        "the surface while it is still warm. The black coating is polymerised fat, bonded to the metal, and it "
        "grows tougher every time you cook with oil. What really damages it is soaking it overnight in the sink "
        "or putting it away wet.",
        "Lentils are one of the most forgiving ingredients in a weekday kitchen. Red lentils need no soaking and "
        "collapse into a thick purée within twenty minutes, which makes them ideal for dal and for thickening "
        "soups. Green and brown lentils hold their shape and suit salads, especially when dressed while still "
        "warm so they absorb the vinegar. Add salt towards the end of cooking, because the skins of older "
        "lentils can stay tough if they are salted early.",
        "Knife skills are mostly about safety and rhythm rather than speed. Curl the fingertips of the guiding "
        "hand under, so the flat of the blade rests against your knuckles and the edge never meets a fingertip. "
        "Let the knife rock forward and down instead of chopping straight onto the board. A sharp knife is "
        "safer than a dull one, because it bites into the skin of a tomato instead of skidding off it towards "
        "your hand.",
        "Acidity is the seasoning that home cooks most often forget. When a stew tastes flat even though it has "
        "enough salt, a spoonful of vinegar or a squeeze of lemon usually brings it to life. Acid sharpens the "
        "other flavours and cuts through richness, which is why a fatty braise is so often served with pickles "
        "or a bright herb sauce. Add it at the end and taste as you go, since heat dulls its edge.",
    ),
    "astronomy": (
        "The Moon is the easiest target for a new telescope, but the full Moon is the worst time to look at it. "
        "When the Sun shines straight down on the lunar surface there are no shadows, and the craters wash out "
        "into a flat, glaring disc. A few days after first quarter, the line between day and night, called the "
        "terminator, runs across the rugged southern highlands. Crater walls cast long shadows there, and "
        "mountain peaks catch the light while the ground around them is still dark.",
        "Your eyes need time to adapt to the dark before faint objects will appear. The pupil opens within a "
        "minute, but the chemical changes in the retina take twenty to thirty minutes to complete. A single "
        "glance at a phone screen resets much of that progress. Experienced observers use a dim red torch to "
        "read their charts, because red light disturbs dark adaptation far less than white light. Averted "
        "vision helps as well: looking slightly to one side of a faint galaxy places its light on the more "
        "sensitive part of the retina.",
        "Jupiter rewards patience more than any other planet. Through a small telescope its four largest moons "
        "appear as points of light in a line, and their positions change visibly over a single evening. The "
        "cloud belts are obvious even at modest magnification, and on steady nights the Great Red Spot shows "
        "as a pale salmon oval. Because the planet rotates in under ten hours, the view changes while you "
        "watch, and a storm that was on the edge of the disc can reach the centre within a couple of hours.",
        "Light pollution is the main obstacle for most amateur astronomers, and it is getting worse. A sky glow "
        "above a town can hide all but the brightest stars, and the faint band of the Milky Way disappears "
        "entirely. Shielded street lights that point downward, warmer colour temperatures and lights that switch "
        "off late at night all make a measurable difference. Several towns have earned dark sky status by "
        "changing their lighting, and observers travel to them in the winter months.",
        "Binoculars are an underrated first instrument. A pair of 10x50 binoculars gathers enough light to show "
        "the moons of Jupiter, the phases of Venus, dozens of star clusters and the brighter galaxies. They "
        "show a wide field, which makes it easy to find your way around the sky, and they cost far less than "
        "a decent telescope. Resting your elbows on a garden wall or a reclining chair steadies the view "
        "enormously.",
        "Meteor showers happen when the Earth passes through the trail of dust left behind by a comet. The "
        "particles, most no bigger than a grain of sand, strike the upper atmosphere at tens of kilometres per "
        "second and burn up in a brief streak of light. The Perseids in August and the Geminids in December "
        "are the most reliable showers of the year. No equipment is needed: lie back, face away from the Moon, "
        "and give yourself at least an hour.",
        "Astrophotography once demanded film, long exposures and a great deal of luck. Today a camera on a "
        "simple tracking mount can record nebulae that the eye will never see directly. The technique rests on "
        "stacking: dozens of short exposures are aligned by software and averaged, which reduces random noise "
        "while the faint signal builds up. Calibration frames taken with the lens cap on remove the pattern of "
        "warm pixels that every sensor produces.",
        "A star chart is only useful if you can relate it to the real sky. Start with a few bright patterns, "
        "such as the Plough or Orion, and use them as signposts. The two stars at the end of the Plough point "
        "towards the Pole Star, and the belt of Orion points down towards Sirius. Star hopping from a known "
        "star to a fainter target, one small step at a time, is slower than a computerised mount but teaches "
        "you the sky in a way that lasts.",
    ),
    "local_history": (
        "The mill on the river was rebuilt at least three times between the fourteenth and the nineteenth "
        "centuries. The earliest record is a dispute over water rights in 1347, in which the miller was accused "
        "of raising his weir so far that his neighbours' meadows upstream flooded every spring. The present "
        "building dates from 1823, when a local family replaced the timber structure with brick after a fire. "
        "It ground corn until the 1950s and is now a small museum run by volunteers.",
        "Parish registers are the backbone of most family history research in the region. Baptisms, marriages "
        "and burials were recorded by the clergy from the sixteenth century onward, although many early books "
        "were lost to damp, fire or careless storage. The surviving volumes are held at the county record "
        "office, where they can be consulted on microfilm. Spelling was inconsistent, so the same family may "
        "appear under three or four different surnames within a single generation.",
        "The arrival of the railway in 1849 changed the town more quickly than anything before it. Within a "
        "decade the cattle market had moved to a site beside the goods yard, and two new streets of terraced "
        "houses had been built for railway workers. Fresh milk could now reach the city overnight, and several "
        "farms switched from cheese making to dairy for that trade. The station closed in 1964, but the "
        "embankment still crosses the valley and is now a popular footpath.",
        "Old maps are some of the most revealing sources a local historian can use. The tithe map of the 1840s "
        "names every field, and names like Brickkiln Close or Chapel Piece often preserve the memory of "
        "buildings that vanished long ago. Comparing the tithe map with the first large-scale survey forty "
        "years later shows where hedges were removed, where cottages were demolished and where new roads cut "
        "across the old field pattern.",
        "The weekly market was granted by royal charter in 1261 and was held in the wide street in front of "
        "the church for more than six hundred years. Traders paid a small toll to the lord of the manor for "
        "each stall, and disputes over short measures were settled at a court held on market day. The stone "
        "market cross that stands there today is a Victorian replacement, but the base of the medieval cross "
        "survives in the churchyard.",
        "Oral history recordings have preserved memories that no written source would have captured. In the "
        "1980s the society's volunteers interviewed more than forty older residents about their childhoods. They "
        "described school days in a single classroom heated by an iron stove, summers spent helping with the "
        "harvest, and the excitement when the first cinema opened above Dawson's garage on the high street. The "
        "tapes have since been digitised and can be heard at the library.",
        "Many of the older cottages in the village are built of a soft local sandstone that weathers to a warm "
        "orange. The stone was quarried on the hill above the church until the early twentieth century, and "
        "the overgrown quarry face can still be seen from the footpath. Builders often reused stone from "
        "earlier houses, so a cottage that looks eighteenth century may contain carved blocks from a much "
        "older building.",
        "The flood of 1894 is still remembered in the names of houses near the bridge. After a week of heavy "
        "rain the river rose more than two metres in a single night and swept away the footbridge, two barns "
        "and a row of cottages by the tannery. A brass plate on the wall of the King's Head marks the height the "
        "water reached. The disaster led to the construction of the stone embankment that protects the lower town "
        "today.",
    ),
    "software": (
        "The configuration file is read once at start-up and validated before any work begins. Unknown keys "
        "are treated as errors rather than silently ignored, because a misspelt option that is quietly "
        "dropped is one of the hardest mistakes to notice. Every setting has a documented default, and the "
        "resolved configuration, with defaults filled in, is written to the output directory so that any run "
        "can be reproduced exactly.",
        "To install the tool, create a virtual environment with a supported Python version and install the "
        "package with pip. The command line entry point is added to the environment's bin directory, so "
        "activating the environment is enough to make it available. If you work on the project itself, "
        "install it in editable mode together with the development extras, which bring in the test runner "
        "and the linters used in continuous integration.",
        "Logging is configured through the standard library and writes to standard error by default. Each "
        "message carries a timestamp, the name of the module that produced it and a severity level. Set the "
        "level to debug when you are investigating a problem, but expect the volume of output to grow "
        "considerably. Log lines are meant for people; anything a program needs to consume, such as summary "
        "statistics, is written to a separate file in a structured format.",
        "The cache stores results on disk under a key derived from the inputs and the version of the code that "
        "produced them. When either changes, the key changes and the stale entry is simply never read again. "
        "This avoids the classic invalidation bugs, at the cost of some disk space, which can be reclaimed by "
        "deleting the cache directory at any time. Writes go to a temporary file that is renamed into place, "
        "so an interrupted run never leaves a half-written entry behind.",
        "Errors in individual records should not bring down a long batch job. The reader catches problems with "
        "a single record, such as invalid encoding or a malformed header, and emits a row that describes the "
        "failure instead of the document. Those rows are collected in a separate table that can be inspected "
        "after the run. Only errors that make the whole input unusable, such as a missing file or a permission "
        "problem, stop the job immediately.",
        "Tests are organised by module and run with a single command. Fast unit tests cover pure functions "
        "with small, hand-written inputs, and a smaller number of end-to-end tests run the complete pipeline "
        "on the sample data. Tests that need a graphics card or a large download are marked so that they can "
        "be skipped on a laptop. Every bug fix should come with a test that fails before the fix and passes "
        "after it.",
        "Version numbers follow semantic versioning. A change in the major version signals that existing "
        "configuration files or outputs may no longer be compatible, while minor versions add features "
        "without breaking anything that worked before. Patch releases contain only fixes. The changelog "
        "lists every user-visible change under the version that introduced it, along with a short note on "
        "how to migrate when something was removed.",
        "Performance problems are easiest to solve when they are measured rather than guessed at. Before "
        "optimising anything, run the job under a profiler on a representative input and look at where the "
        "time actually goes. It is common to find that a small helper called millions of times dominates the "
        "profile, while the complicated algorithm that everyone suspected takes only a few percent. Record "
        "the timings before and after each change, so that an improvement can be demonstrated.",
    ),
    "gardening": (
        "Good soil is alive, and the quickest way to improve it is to feed the creatures that live in it. A "
        "thick layer of compost or well-rotted manure spread on the surface in autumn will be pulled down by "
        "worms over the winter, opening up heavy clay and helping sandy soil hold water. There is no need to "
        "dig it in. Digging disturbs the fungal networks that help plants take up nutrients, and it brings "
        "buried weed seeds up to the light.",
        "Tomatoes grown outdoors need the warmest, most sheltered spot in the garden. Plant them out only "
        "when the nights stay above ten degrees, because a single cold night can check their growth for "
        "weeks. Water deeply and regularly at the base rather than over the leaves, since irregular watering "
        "causes the fruit to split and wet foliage invites blight. Pinch out the side shoots of cordon "
        "varieties so the plant puts its energy into fruit rather than leaves.",
        "A compost heap works best with a mix of green and brown materials. Grass clippings, vegetable "
        "peelings and fresh weeds supply nitrogen, while cardboard, straw and fallen leaves supply carbon and "
        "keep the heap from turning into a slimy mass. Turning the heap every few weeks lets air in and "
        "speeds things up considerably. A well-made heap can produce dark, crumbly compost within six months; "
        "a neglected one will still get there, only more slowly.",
        "Slugs are the bane of every vegetable grower, but there are ways to keep the damage tolerable. "
        "Encourage their predators, such as frogs, hedgehogs and ground beetles, by leaving a wild corner and "
        "a small pond. Raise seedlings in pots until they are sturdy enough to survive a little grazing. "
        "Evening patrols with a torch after rain are tedious but remarkably effective, and a ring of sharp "
        "grit around a prized hosta helps more than most commercial remedies.",
        "Pruning fruit trees in winter encourages vigorous growth, while summer pruning slows it down. The aim "
        "with an apple tree is an open, goblet shape that lets light and air into the centre. Remove dead, "
        "diseased and crossing branches first, then cut back the leaders by about a third. Resist the "
        "temptation to prune hard every year, because a tree that is cut back too severely responds with a "
        "thicket of upright shoots that bear no fruit.",
        "Saving your own seed is satisfying and surprisingly simple for some crops. Beans, peas, lettuce and "
        "tomatoes are largely self-pollinating, so seed saved from an open-pollinated variety will usually "
        "come true the following year. Squash and sweetcorn cross readily with their neighbours, so seed from "
        "them may produce odd results. Dry the seed thoroughly, store it in paper envelopes in a cool, dark "
        "place and label it with the variety and the year.",
        "A small pond will attract more wildlife to a garden than almost anything else. Within a few weeks of "
        "filling, water boatmen and pond skaters arrive on their own, followed by dragonflies and, with luck, "
        "frogs in the spring. Give the pond one gently sloping side so that hedgehogs and young frogs can "
        "climb out. Fill it with rainwater rather than tap water if you can, because tap water carries "
        "nutrients that feed blooms of green algae.",
        "Watering in the early morning is kinder to plants than watering at midday. Less water is lost to "
        "evaporation, and the leaves dry quickly as the day warms up, which reduces fungal disease. A thorough "
        "soak once or twice a week encourages roots to grow deep, whereas a daily sprinkle keeps them near the "
        "surface where they suffer in a drought. Mulching the soil with compost or bark keeps the moisture in "
        "for much longer.",
    ),
    "cycling": (
        "Tyre pressure affects comfort and speed more than most riders realise. Pumping road tyres as hard as "
        "they will go feels fast, but on real roads with cracks and gravel a slightly lower pressure lets the "
        "tyre absorb the bumps instead of bouncing the whole bike over them. Heavier riders need more pressure "
        "than lighter ones, and wider tyres need less than narrow ones. Check the pressure with a gauge once "
        "a week, because tyres lose air slowly even without a puncture.",
        "A clean and lightly oiled chain makes every ride quieter and more efficient. Wipe the chain with a "
        "rag after wet rides, apply a drop of lubricant to each roller, and then wipe off the excess so that "
        "it does not collect grit. A dry, squeaking chain wears the expensive cassette and chainrings much "
        "faster than it wears itself. A simple wear gauge shows when the chain has stretched and should be "
        "replaced before it damages the other parts.",
        "Riding in traffic becomes far less stressful once you stop hugging the kerb. A rider tucked into the "
        "gutter invites drivers to squeeze past in the same lane, while a rider a metre out from the kerb is "
        "seen earlier and passed more carefully. Take the middle of the lane through pinch points and narrow "
        "bridges, where overtaking would be dangerous anyway. Make eye contact with drivers waiting at side "
        "roads, and signal clearly and early.",
        "Climbing is mostly a matter of pacing. Riders new to hills tend to attack the bottom of a climb, "
        "burn out halfway up and crawl the rest. Shift into an easy gear before the road steepens, settle "
        "into a rhythm you could hold for the whole climb, and stay seated for as long as possible, since "
        "standing uses more energy. On long climbs, a steady effort is always faster than a series of surges "
        "and recoveries.",
        "Fixing a puncture at the roadside is a skill worth practising at home first. Carry a spare inner "
        "tube, two tyre levers and a small pump, and learn to find the cause before fitting the new tube. Run "
        "your fingers carefully around the inside of the tyre to find the thorn or sliver of glass that "
        "caused the flat, or the new tube will puncture within minutes. Inflate the tube slightly before "
        "fitting it so that it does not twist or get pinched under the tyre bead.",
        "Winter riding is perfectly pleasant with the right clothing. Several thin layers trap warmth better "
        "than a single thick jacket, and they can be removed one by one as you warm up. Hands and feet suffer "
        "first, so good gloves and overshoes are worth the money. Mudguards keep both you and the bike "
        "cleaner, and they are a courtesy to anyone riding behind you in a group. Bright front and rear "
        "lights are essential during the short days.",
        "A bike fit does not have to be expensive to make a big difference. Saddle height is the most "
        "important setting: at the bottom of the pedal stroke your knee should be slightly bent, never fully "
        "straight. A saddle that is too low strains the knees, while one that is too high makes the hips rock "
        "from side to side. Small changes of a few millimetres at a time, with a few rides in between, are "
        "better than large adjustments.",
        "Commuting by bike turns a wasted hour into exercise. Many riders find that a twenty-minute ride each "
        "way is as fast as driving in rush hour, once parking is taken into account. Panniers are more "
        "comfortable than a backpack for carrying a change of clothes and a laptop, and they keep your back "
        "from getting sweaty. Plan a route along quieter streets and cycle paths, even if it adds a few "
        "minutes, because a relaxed ride is more likely to become a daily habit.",
    ),
    "finance": (
        "An emergency fund is the first thing to build before investing. Aim for three to six months of "
        "essential spending in an easy-access savings account, so that a broken boiler or a period without "
        "work does not push you into expensive debt. The fund is not meant to earn a high return; its job is "
        "to be there when you need it. Rebuild it as soon as possible after you have drawn on it.",
        "Compound interest works slowly at first and then surprisingly fast. Money invested at a steady five "
        "percent a year doubles in roughly fourteen years, and doubles again in the next fourteen, because "
        "each year's growth earns growth of its own. This is why starting early matters more than the size of "
        "the first contributions. The same arithmetic works against you on credit card balances, where rates "
        "above twenty percent can double a debt in less than four years.",
        "A simple budget starts with what you actually spend, not with what you think you spend. Go through "
        "three months of bank statements and sort every payment into a handful of categories, such as "
        "housing, food, transport and everything else. Most people find at least one category that is much "
        "larger than they expected, often small daily purchases that add up. Only once the real numbers are "
        "on the page does it make sense to set targets.",
        "Index funds offer a low-cost way to own a small slice of a whole market. Instead of trying to pick "
        "the companies that will do best, an index fund simply holds all the shares in an index, in "
        "proportion to their size. Because there is no team of analysts to pay, the annual fees are a "
        "fraction of those charged by actively managed funds. Over decades that difference in fees compounds "
        "into a substantial sum.",
        "Paying off debt is easier with a clear plan. One approach is to pay the minimum on every debt and "
        "put everything extra towards the one with the highest interest rate, which costs the least in "
        "total. Another is to clear the smallest balance first, which costs a little more but provides quick "
        "wins that keep people motivated. The best plan is the one you will actually stick to, and either is "
        "far better than paying only the minimums.",
        "Pension contributions are one of the most tax-efficient ways to save. Contributions usually receive "
        "tax relief at your marginal rate, and many employers match what you put in up to a certain level. "
        "Declining an employer match is effectively turning down part of your salary. The drawback is that "
        "the money is locked away until a minimum age, which is why a pension should sit alongside an "
        "accessible emergency fund rather than replace it.",
        "Inflation quietly erodes the value of cash. If prices rise by three percent a year, money sitting in "
        "an account paying one percent loses purchasing power every year, even though the balance never "
        "falls. Over twenty years that loss amounts to nearly a third of its value. Cash is still the right "
        "home for short-term savings, but money that will not be needed for many years usually belongs in "
        "investments that can grow faster than prices.",
        "Insurance is about protecting yourself against losses you could not afford to absorb. It makes sense "
        "to insure your home, your income and your liability to others, because a fire or a serious illness "
        "could be financially ruinous. Insuring a cheap phone or a kettle rarely makes sense, since the "
        "premiums over a few years often exceed the cost of simply replacing the item. Choosing a higher "
        "excess can also lower premiums considerably.",
    ),
    "birding": (
        "The dawn chorus is at its fullest in late April and May, when resident birds are joined by summer "
        "migrants. Robins and blackbirds start first, often before it is light, followed by wrens, song "
        "thrushes and warblers. Getting up early for a single morning and sitting quietly in a wood is the "
        "best introduction to bird song there is. Learning three or four common songs well makes the rarer "
        "ones stand out.",
        "Feeding garden birds through the winter can make a real difference to their survival. Small birds "
        "such as blue tits lose a large share of their body weight on a cold night and must feed again at "
        "first light. Sunflower hearts and suet are high in energy and popular with many species. Clean the "
        "feeders every couple of weeks, because crowded feeding stations can spread disease, and keep a "
        "shallow dish of fresh water topped up.",
        "A field notebook is as useful as a pair of binoculars. Writing down what you saw, where and when, "
        "along with the weather, turns casual walks into records that show patterns over the years. Quick "
        "sketches, even crude ones, force you to notice details such as the colour of the legs or the shape "
        "of a wing bar that a glance would miss. Many county bird clubs welcome these records for their "
        "annual reports.",
        "Estuaries in winter hold some of the largest gatherings of birds in the country. Waders such as "
        "knot, dunlin and curlew feed on the mud at low tide and are pushed together onto the remaining "
        "banks as the water rises. The hour before high tide is the best time to visit, when flocks of "
        "thousands take off and wheel over the water in tight, shifting shapes. A telescope on a tripod is "
        "a great help at these distances.",
        "Identifying birds by shape and behaviour is often quicker than by colour. In poor light or at a "
        "distance, colours are unreliable, but the way a bird flies, feeds or perches is distinctive. A "
        "woodpecker bounds through the air in deep undulations, a wagtail pumps its tail, and a treecreeper "
        "spirals up a trunk like a mouse. Experienced birders often name a species before they have seen any "
        "of its plumage clearly.",
        "Nest boxes provide homes for birds in gardens where old trees with holes are scarce. Put them up in "
        "autumn or winter so that birds can explore them before the breeding season. Face the box between "
        "north and east to avoid strong afternoon sun, and fix it out of reach of cats. The size of the "
        "entrance hole decides which species can use it: a small hole suits blue tits, while a slightly larger "
        "one admits great tits and sparrows.",
        "Migration is one of the great spectacles of the natural world. Swallows that nested in a barn in "
        "the summer spend the winter in southern Africa, crossing the Sahara twice a year. Many small birds "
        "migrate at night, navigating by the stars and the Earth's magnetic field. On calm autumn nights "
        "their thin contact calls can be heard overhead, even from the middle of a town.",
        "Photographing birds teaches patience above all. A long lens helps, but fieldcraft matters more: "
        "wearing muted colours, moving slowly and letting birds come to you. Sitting still near a feeder or "
        "a muddy pool for an hour produces better pictures than chasing birds around a reserve. Always put "
        "the welfare of the bird first, and never approach a nest for a photograph.",
    ),
    "home_repair": (
        "A dripping tap is usually a worn washer or a tired ceramic cartridge, and both are cheap to replace. "
        "Turn off the water supply under the sink first, then open the tap to drain the pipe. Prise off the "
        "decorative cap, undo the headgear nut and lift out the old part, taking it to the shop so that you "
        "can match the size. Reassemble in the reverse order and turn the water back on slowly.",
        "Filling cracks in plaster before painting makes the finished wall look far better. Rake out any "
        "loose material with the corner of a scraper and dampen the crack so that the filler does not dry "
        "too quickly. Press the filler in firmly and leave it standing slightly proud of the surface. Once it "
        "has hardened, sand it flush with a fine abrasive wrapped around a block, and wipe away the dust "
        "before applying a mist coat of thinned paint.",
        "Condensation on windows in winter is a sign that warm, moist air has nowhere to go. Cooking, showers "
        "and drying laundry indoors can add several litres of water to the air of a house every day. Use "
        "extractor fans while cooking and bathing, open a window for a few minutes afterwards, and keep trickle "
        "vents open. Left unchecked, the moisture encourages black mould in cold corners and around window "
        "frames.",
        "Painting a room goes faster when the preparation is thorough. Move the furniture to the middle and "
        "cover it, take down curtains, and unscrew switch plates rather than painting around them. Wash "
        "greasy areas with sugar soap, fill holes and sand glossy woodwork so that the new paint has something "
        "to grip. Cut in along the edges with a brush before rolling the main areas, working from the top of "
        "the room downwards.",
        "A bleed key is one of the most useful tools in a house with radiators. If a radiator is warm at the "
        "bottom but cold at the top, air has collected inside it. With the heating off, hold a cloth under "
        "the valve at the top corner and turn the key slowly until you hear a hiss. Close it as soon as "
        "water appears. On a sealed system, check the boiler pressure afterwards and top it up if it has "
        "fallen.",
        "Draught-proofing is one of the cheapest ways to make a house warmer. Gaps around doors, windows and "
        "floorboards let heated air escape and cold air in, and together they can add up to the area of an "
        "open window. Self-adhesive foam strips, brush seals for the bottom of doors and a flexible sealant "
        "for gaps in skirting boards can all be fitted in an afternoon. Leave deliberate ventilation such as "
        "air bricks alone.",
        "Hanging a heavy shelf safely depends on what the wall is made of. Solid brick and block walls hold "
        "plugs and screws well, but plasterboard needs special fixings or, better still, screws driven into "
        "the timber studs behind it. A cheap detector finds studs, pipes and cables before you drill. Always "
        "check for cables directly above and below sockets and switches, where they usually run.",
        "Silicone sealant around a bath or shower eventually discolours and peels, letting water seep behind "
        "the tiles. Cut the old bead out with a sharp blade and remove the last traces with a scraper and "
        "some white spirit. The surfaces must be completely dry and clean before you start. Filling the bath "
        "with water before sealing weighs it down, so the joint does not tear when the bath is used.",
    ),
    "hiking": (
        "Planning a day walk starts with the weather forecast and an honest look at the daylight. In winter "
        "there may be only eight hours of useful light, and a route that takes five hours in summer can take "
        "seven on frozen or muddy ground. Tell someone where you are going and when you expect to be back. "
        "Pack a head torch even on a short walk, because a twisted ankle can turn a pleasant afternoon into "
        "a long wait in the dark.",
        "Map reading is a skill that a phone cannot fully replace. Batteries go flat in the cold, screens are "
        "hard to read in rain, and signal disappears in the valleys where you are most likely to need help. "
        "Learn to read contour lines: when they are close together the ground is steep, and where they form "
        "a V pointing uphill there is usually a stream. Set the map so that its features line up with the "
        "landscape in front of you.",
        "Boots should be comfortable from the first walk, not broken in through weeks of pain. Try them on "
        "in the afternoon, when feet are slightly swollen, and wear the socks you will walk in. There should "
        "be a thumb's width of space in front of the toes so that they do not hit the end on descents. Blisters "
        "come from friction, so deal with any hot spot immediately with tape, before it turns into a wound.",
        "Layering clothing lets you adjust to changing conditions on a hill. A thin base layer moves sweat "
        "away from the skin, a fleece or light insulated jacket traps warmth, and a waterproof shell keeps out "
        "wind and rain. Cotton is a poor choice because it holds water and chills you once you stop moving. "
        "Take off a layer before a steep climb rather than halfway up, when you are already soaked with sweat.",
        "Water and food are easy to underestimate on a long walk. On a warm day you can easily drink two or "
        "three litres, and dehydration creeps up well before you feel thirsty. Eat little and often rather "
        "than saving everything for a big lunch, because energy levels drop on steep ground. Carry a little "
        "more than you think you need, including something sweet as a reserve for the final miles.",
        "Leaving no trace means that the next walker finds the hill as you found it. Take all your litter "
        "home, including fruit peel, which takes years to rot at altitude. Keep to the path where one exists, "
        "even when it is muddy, because stepping around puddles widens the scar across the moor. Close gates "
        "behind you, keep dogs on a lead near livestock and ground-nesting birds, and never light fires on "
        "dry moorland.",
        "Mountain weather changes quickly, and the summit is often very different from the car park. "
        "Temperature drops by roughly one degree for every hundred and fifty metres of ascent, and the wind "
        "is usually much stronger on the tops. Cloud can come down within minutes and reduce visibility to a "
        "few metres. Decide in advance at which point you will turn back if conditions worsen, and stick to it.",
        "Walking poles take some of the load off the knees, especially on long descents. They also help with "
        "balance when crossing streams and rough ground. Adjust the length so that your forearm is roughly "
        "horizontal on flat ground, shorten them for climbs and lengthen them for descents. Some walkers find "
        "that poles help them settle into a steady rhythm, while others prefer to keep their hands free.",
    ),
}

# Topic -> page or article titles.
TITLES: dict[str, tuple[str, ...]] = {
    "cooking": ("How to Make a Proper Stock", "Why You Should Salt Meat the Night Before",
                "The Truth About Caramelised Onions", "Reading Your Bread Dough",
                "Caring for Cast Iron", "A Weeknight Guide to Lentils", "Basic Knife Skills",
                "Seasoning With Acid", "Kitchen Notes for Beginners", "Five Habits of Confident Cooks"),
    "astronomy": ("Observing the Moon", "Dark Adaptation Explained", "A Beginner's Guide to Jupiter",
                  "Fighting Light Pollution", "Why Binoculars Come First", "Watching a Meteor Shower",
                  "Getting Started in Astrophotography", "Learning to Star Hop", "Notes From the Eyepiece",
                  "What to Look at This Month"),
    "local_history": ("The Story of the Old Mill", "Using Parish Registers", "When the Railway Came",
                      "Reading Old Maps", "Seven Centuries of Market Day", "Voices From the Past",
                      "The Stone of Our Cottages", "The Great Flood of 1894", "Notes on the Parish",
                      "A Walk Through the Old Town"),
    "software": ("Configuration Reference", "Installation", "Logging", "Caching", "Error Handling",
                 "Running the Tests", "Release Policy", "Profiling and Performance", "Design Overview",
                 "Frequently Asked Questions"),
    "gardening": ("Feeding Your Soil", "Growing Tomatoes Outdoors", "Making Good Compost",
                  "Living With Slugs", "Pruning Apple Trees", "Saving Your Own Seed", "Make a Wildlife Pond",
                  "Watering Wisely", "Jobs for the Weekend", "The No-Dig Garden"),
    "cycling": ("Getting Tyre Pressure Right", "Chain Care in Five Minutes", "Riding Confidently in Traffic",
                "How to Climb Better", "Roadside Puncture Repair", "Winter Riding Without Misery",
                "A Bike Fit on a Budget", "Commuting by Bike", "Club Ride Notes", "Maintenance Basics"),
    "finance": ("Build an Emergency Fund First", "The Arithmetic of Compound Interest",
                "A Budget That Works", "Understanding Index Funds", "Two Ways to Pay Off Debt",
                "Why Pensions Matter", "Inflation and Your Savings", "What Insurance Is For",
                "Money Basics", "Household Finance in Plain English"),
    "birding": ("The Dawn Chorus", "Feeding Birds in Winter", "Keeping a Field Notebook",
                "Estuary Birds in Winter", "Shape Before Colour", "Putting Up Nest Boxes",
                "The Wonder of Migration", "Bird Photography Basics", "Sightings This Week",
                "Birding for Beginners"),
    "home_repair": ("Fixing a Dripping Tap", "Filling Cracks in Plaster", "Dealing With Condensation",
                    "Painting a Room", "Bleeding a Radiator", "Draught-Proofing on a Budget",
                    "Hanging a Heavy Shelf", "Resealing a Bath", "Weekend Repairs", "A Homeowner's Toolkit"),
    "hiking": ("Planning a Day Walk", "Map Reading Basics", "Choosing Walking Boots", "Layering for the Hills",
               "Food and Water on the Trail", "Leave No Trace", "Mountain Weather", "Using Walking Poles",
               "Route Notes", "First Steps in the Hills"),
}

# German and French topics (served as windows-1252 / ISO-8859-1 web pages, so no characters outside those sets).
FOREIGN_PARAGRAPHS: dict[str, tuple[str, ...]] = {
    "de_garden": (
        "Ein gesunder Boden ist die Grundlage für jeden Garten. Statt den Boden jedes Jahr tief umzugraben, "
        "genügt es oft, im Herbst eine dicke Schicht Kompost auf die Beete zu verteilen. Die Regenwürmer "
        "ziehen das Material im Laufe des Winters in die Erde und lockern dabei schweren Lehmboden auf. So "
        "bleibt das Bodenleben erhalten, und Unkrautsamen aus tieferen Schichten gelangen nicht an die "
        "Oberfläche.",
        "Tomaten brauchen im Freiland einen warmen, geschützten Platz, am besten vor einer Hauswand mit "
        "Dach. Man sollte sie erst nach den Eisheiligen Mitte Mai auspflanzen, denn schon eine einzige kalte "
        "Nacht kann das Wachstum für Wochen bremsen. Gegossen wird regelmäßig und direkt an der Wurzel, nie "
        "über die Blätter, weil nasses Laub die Kraut- und Braunfäule begünstigt. Die Seitentriebe in den "
        "Blattachseln werden laufend ausgebrochen.",
        "Ein Komposthaufen gelingt am besten mit einer Mischung aus feuchtem und trockenem Material. "
        "Rasenschnitt und Gemüseabfälle liefern Stickstoff, während Laub, Stroh und zerrissene Pappe für "
        "Struktur sorgen. Wer den Haufen alle paar Wochen umsetzt, bringt Luft hinein und beschleunigt die "
        "Rotte deutlich. Nach einem halben Jahr entsteht so dunkle, krümelige Erde, die nach Waldboden "
        "riecht. Fleisch- und Milchreste gehören dagegen nicht auf den Kompost, weil sie Ratten anlocken.",
        "Schnecken sind der Albtraum vieler Gemüsegärtner. Helfen können natürliche Feinde wie Igel, Kröten "
        "und Laufkäfer, denen man mit einer wilden Ecke und einem kleinen Teich einen Lebensraum bietet. "
        "Jungpflanzen zieht man am besten in Töpfen vor, bis sie kräftig genug sind. Abendliche Kontrollgänge "
        "nach einem Regenschauer sind mühsam, aber erstaunlich wirksam. Ein Ring aus scharfkantigem Splitt um "
        "besonders gefährdete Pflanzen hilft oft mehr als teure Mittel aus dem Fachhandel.",
        "Obstbäume schneidet man im Winter, wenn man kräftigen Neuaustrieb möchte, und im Sommer, wenn das "
        "Wachstum gebremst werden soll. Bei einem Apfelbaum strebt man eine lichte Krone an, in die Sonne "
        "und Luft gelangen. Zuerst werden abgestorbene, kranke und sich kreuzende Äste entfernt, danach kürzt "
        "man die Leittriebe um etwa ein Drittel ihrer Länge. Wer jedes Jahr zu stark schneidet, erntet vor allem "
        "senkrechte Wasserschosse und kaum Früchte.",
        "Ein kleiner Gartenteich lockt mehr Tiere an als fast jede andere Maßnahme. Schon wenige Wochen nach "
        "dem Befüllen stellen sich Wasserläufer und Rückenschwimmer ein, später folgen Libellen und im "
        "Frühjahr vielleicht Frösche. Eine flache Uferzone ist wichtig, damit Igel und junge Amphibien wieder "
        "herausklettern können. Am besten füllt man den Teich mit Regenwasser, denn Leitungswasser enthält "
        "Nährstoffe, die das Algenwachstum fördern.",
    ),
    "fr_cuisine": (
        "Un bon fond est la base discrète de la plupart des soupes et des sauces. On fait d'abord rôtir les "
        "os au four jusqu'à ce qu'ils soient bien dorés, car la couleur obtenue deviendra le goût du bouillon. "
        "On les couvre ensuite d'eau froide et l'on porte doucement à frémissement, en écumant régulièrement "
        "pendant la première demi-heure. Il ne faut jamais laisser bouillir fort, sinon le fond se trouble.",
        "Saler la viande la veille change bien plus que son goût. Le sel attire d'abord l'humidité à la "
        "surface, puis s'y dissout, et la saumure est lentement réabsorbée par la chair. Les protéines se "
        "détendent et retiennent davantage d'eau à la cuisson, si bien que la viande reste juteuse même si "
        "l'on dépasse un peu la température idéale. Laissé à découvert au réfrigérateur, un poulet aura aussi "
        "une peau plus croustillante.",
        "Les oignons méritent plus de patience que ne l'admettent la plupart des recettes. Une vraie "
        "caramélisation demande entre quarante minutes et une heure à feu doux, avec un filet d'eau chaque "
        "fois que le fond de la poêle commence à attacher. Les oignons s'effondrent, prennent la couleur d'un "
        "thé bien infusé et deviennent étonnamment sucrés. On peut en préparer une grande quantité et la "
        "congeler en petites portions.",
        "La pâte à pain indique elle-même quand elle est prête, à condition de savoir la lire. Une pâte qui "
        "n'a pas assez levé reprend aussitôt sa forme quand on l'enfonce du doigt, tandis qu'une pâte trop "
        "levée garde la marque et peut même retomber. Le bon moment se situe entre les deux : le creux se "
        "comble lentement, sans disparaître tout à fait. La température de la cuisine compte bien plus que "
        "les durées indiquées dans la recette.",
        "Les lentilles sont l'un des ingrédients les plus indulgents de la cuisine de tous les jours. Les "
        "lentilles corail n'ont pas besoin de trempage et se transforment en purée en vingt minutes, ce qui "
        "les rend idéales pour les soupes. Les lentilles vertes gardent leur forme et conviennent aux "
        "salades, surtout si on les assaisonne encore tièdes pour qu'elles absorbent la vinaigrette. On sale "
        "plutôt en fin de cuisson.",
        "L'acidité est l'assaisonnement que l'on oublie le plus souvent. Lorsqu'un ragoût paraît fade alors "
        "qu'il est suffisamment salé, une cuillerée de vinaigre ou un trait de citron suffit souvent à le "
        "réveiller. L'acide souligne les autres saveurs et allège les plats riches, ce qui explique pourquoi "
        "une viande braisée est si souvent servie avec des cornichons ou une sauce aux herbes. On l'ajoute à "
        "la fin, en goûtant au fur et à mesure.",
    ),
}

FOREIGN_TITLES: dict[str, tuple[str, ...]] = {
    "de_garden": ("Den Boden richtig pflegen", "Tomaten im Freiland", "Kompost leicht gemacht",
                  "Was hilft gegen Schnecken?", "Obstbäume schneiden", "Ein Teich für die Natur",
                  "Gartentipps für das Wochenende"),
    "fr_cuisine": ("Réussir un bon fond", "Pourquoi saler la viande la veille", "L'art des oignons confits",
                   "Savoir lire sa pâte à pain", "Les lentilles au quotidien", "Le rôle de l'acidité",
                   "Carnet de cuisine"),
}

# Book-style narrative prose: one story, told in paragraphs that read well in several orders.
NARRATIVE: tuple[str, ...] = (
    "The lighthouse keeper's daughter had never seen the mainland in winter. Every October her father rowed "
    "the last supply boat across the sound, and after that the island belonged to the wind, the gulls and "
    "the two of them. She learned to read the weather from the colour of the water, slate grey before a "
    "gale and a strange bottle green when the wind was about to drop. By the time she was twelve she could "
    "trim the wicks and wind the clockwork that turned the great lens without being asked.",
    "Martha arrived at the station an hour before the train was due, as she always did. The waiting room "
    "smelled of coal smoke and wet wool, and a porter was asleep on the bench by the stove with his cap "
    "over his eyes. She sat by the window and watched the rain run down the glass in crooked lines. When the "
    "whistle finally sounded in the cutting, she realised that she had not thought once about what she "
    "would say to her brother after eleven years.",
    "The house at the end of Mill Lane had been empty for as long as anyone in the village could remember. "
    "Ivy had pulled the gutters away from the walls, and a young ash tree was growing out of the chimney "
    "stack. Children dared each other to touch the front door and then ran shrieking back to the road. So "
    "when a removal van appeared one morning in March, half the village found a reason to walk past before "
    "lunch.",
    "Thomas had kept the letter in his coat pocket for three days without opening it. He knew the "
    "handwriting on the envelope, small and slanting and careful, the handwriting of someone who had been "
    "taught to write with a dip pen. He took it out on the tram, turned it over, and put it away again. "
    "It was only that evening, sitting alone at the kitchen table with a cup of cold tea, that he finally "
    "slit it open with a butter knife.",
    "The market square was already crowded when the fair arrived. Men in shirtsleeves were hammering the "
    "posts of the swing boats into the cobbles, and a woman in a green shawl was unpacking painted horses "
    "from a cart. Anna stood at the edge of it all with her basket of eggs, forgetting entirely that she "
    "had been sent to sell them. The smell of hot sugar drifted across from a stall where a boy was turning "
    "a handle, and she followed it without thinking.",
    "Snow had fallen in the night, and the whole valley lay silent under it. From the kitchen window the "
    "old man could see the tracks of a fox crossing the yard in a straight, deliberate line, from the hen "
    "house to the gap in the hedge. He pulled on his boots, took the lantern from its hook, and went out "
    "to count the hens. All eleven were there, huddled on their perch, and he stood for a while in the "
    "doorway listening to their small complaints.",
    "The school had one classroom, one stove and one teacher, Miss Abernethy, who had taught most of the "
    "parents of her pupils as well. She kept a cane on the wall above the blackboard, but nobody could "
    "remember her ever taking it down. What the children feared far more was her silence, which fell on "
    "the room whenever someone had told a lie. In that silence even the clock seemed to tick more quietly.",
    "They reached the top of the pass just as the light began to fail. Below them the road wound down in "
    "long loops towards a town whose lamps were coming on one by one, yellow points in the blue dusk. Nobody "
    "spoke. The horses stood with their heads low, steaming in the cold, and Elena pulled her coat tighter "
    "and tried to guess which of the lights belonged to the inn where they had been promised a bed.",
    "Her grandmother's kitchen was the warmest room Clara had ever known. There was always something on the "
    "range, a pan of soup or a kettle that was never quite allowed to go cold, and the windows were fogged "
    "from October until April. The dresser held blue and white plates that were never used, and the drawer "
    "beneath it held string, candle ends, seed packets and a bundle of letters tied with a ribbon that no "
    "one was allowed to touch.",
    "The boat came in on the evening tide with its sail half furled and a second man at the tiller. From "
    "the harbour wall the women watched it without a word, because they knew how many had gone out that "
    "morning and they could count. Only when it bumped against the quay and the stranger threw a rope up "
    "did anyone move. He was young and soaked to the skin, and he spoke with an accent that none of them "
    "had heard before.",
    "The clock in the hall struck midnight, and still the doctor had not come down the stairs. Robert sat "
    "on the bottom step with his elbows on his knees, turning his hat round and round in his hands. Now and "
    "then he heard footsteps crossing the floor above, and once a low voice, and then nothing for a long "
    "time. When at last the bedroom door opened, he stood up so quickly that the hat fell and rolled across "
    "the tiles.",
    "Summer on the farm meant long days and short tempers. The hay had to be cut while the weather held, "
    "and every hand was needed, from the old shepherd who could hardly bend to the youngest cousin who "
    "could only carry the water jug. They worked until the dew came down and ate supper in the yard, too "
    "tired to talk. Years later, each of them would remember those evenings as the happiest of their "
    "childhood.",
)

BOOK_TITLES: tuple[str, ...] = ("The Keeper's Daughter", "A Winter Crossing", "The House on Mill Lane",
                                "Letters From the Coast", "The Fair Comes to Town", "Under the Snow",
                                "Lamps in the Valley", "The Last Harvest", "The Stranger at the Quay",
                                "A Long Night in the Hall")

# Forum threads: (topic, index of the bank paragraph that answers it, title, opening post). Replies reuse
# sentences from the topic's paragraphs.
FORUM_QUESTIONS: tuple[tuple[str, int, str, str], ...] = (
    ("cooking", 0, "Stock always turns out cloudy, what am I doing wrong?",
     "I've made beef stock three times now and every time it comes out murky and a bit greasy. I roast the "
     "bones first and simmer it all afternoon. Is there a trick I'm missing?"),
    ("cooking", 4, "Cast iron pan went rusty after one wash",
     "Bought my first cast iron skillet last month. Washed it, left it on the drainer overnight and in the "
     "morning there were orange spots all over it. Is it ruined?"),
    ("astronomy", 0, "First telescope, what should I look at first?",
     "Just got a 130mm reflector for my birthday. I had a quick look at the full Moon last night and it was "
     "just a bright white disc. What should I be looking at to get started?"),
    ("astronomy", 5, "Best time to see the Perseids this year?",
     "I'd like to take my kids out to watch the Perseids. When is the best night, and do we need to drive "
     "somewhere dark or will the back garden do?"),
    ("gardening", 1, "Tomato fruit splitting before it ripens",
     "My outdoor tomatoes are setting loads of fruit but a lot of them split open before they turn red. "
     "The plants look healthy otherwise. Any ideas?"),
    ("gardening", 2, "Is it worth turning the compost heap?",
     "My compost heap has been sitting there for a year and it's still mostly recognisable vegetable "
     "peelings. Do I really have to turn it, or is there an easier way?"),
    ("cycling", 1, "Chain keeps squeaking even after oiling",
     "I oil my chain every weekend but after a couple of rides it squeaks again. Am I using the wrong oil? "
     "The bike is a three year old hybrid that I use for commuting."),
    ("cycling", 6, "Knee pain after longer rides",
     "After anything over about thirty kilometres I get a dull ache at the front of my knees. I'm fairly "
     "fit otherwise. Could it be my bike setup?"),
    ("finance", 4, "Pay off my credit card or start investing?",
     "I've got a few thousand saved and a credit card balance I've been carrying for a while. Should I clear "
     "the card first or start investing in an index fund? What would you do?"),
    ("finance", 0, "How big should an emergency fund be?",
     "Everyone says to have an emergency fund but the numbers I see online range from one month of "
     "expenses to a full year. How do you decide?"),
    ("birding", 4, "Small brown bird creeping up tree trunks",
     "Saw a tiny brown bird in the park this morning, moving up a tree trunk in little jerks, almost like "
     "a mouse. Pale underneath. What could it be?"),
    ("birding", 5, "Nest box has been empty for two years",
     "I put up a nest box on the fence two springs ago and nothing has ever used it. Is there something "
     "wrong with where I've put it?"),
    ("home_repair", 2, "Black mould around bedroom window",
     "Every winter we get black spots of mould in the corners of the bedroom window and the sill is wet in "
     "the mornings. We clean it off but it comes back. What can we do?"),
    ("home_repair", 4, "Radiator cold at the top",
     "One radiator in the living room is hot at the bottom but cold at the top. The others are fine. Do I "
     "need to call a plumber?"),
    ("hiking", 2, "Are expensive walking boots worth it?",
     "I'm starting to do longer hill walks and my trainers aren't cutting it any more. Do I need to spend a "
     "lot on boots, and how do I choose?"),
    ("hiking", 1, "Phone or paper map for hill walking?",
     "I usually navigate with an app on my phone. A friend says I'm being reckless and should carry a "
     "paper map and compass. Is she right?"),
    ("software", 0, "Config option silently ignored?",
     "I set a caching option in my config file but the tool behaves as if it isn't there. No error or "
     "anything. How do I check what configuration was actually used?"),
    ("software", 4, "Job crashes on one bad input file",
     "We process a few thousand files every night and one corrupt file brings the whole job down. Is there "
     "a way to skip bad records and carry on?"),
)

FORUM_USERS: tuple[str, ...] = ("greenfingers_jo", "dave_on_wheels", "stargazer42", "martin.k", "lou_cooks",
                                "hillwalker_sam", "penny_wise", "tinkerer", "owl_at_dusk", "rachel_b",
                                "old_tom", "newbie2024", "quietcoder", "mapandcompass")

# Conversational framing for forum replies, around sentences taken from the topic bank.
REPLY_OPENERS: tuple[str, ...] = (
    "I had exactly the same problem last year.", "Good question, this catches a lot of people out.",
    "Short answer: don't worry, it's very common.", "Speaking from experience here.",
    "Someone asked something similar a while ago, but here's my take.", "This is what worked for me.",
    "Not an expert, but I've been doing this for about ten years.", "A couple of thoughts.",
)
TANGENT_OPENERS: tuple[str, ...] = ("Slightly off topic, but worth knowing.", "On a related note.",
                                   "One more thing while we're here.")
REPLY_CLOSERS: tuple[str, ...] = (
    "Hope that helps!", "Let us know how you get on.", "Good luck with it.",
    "Post a photo if it keeps happening.", "Give it a few weeks and see.", "Happy to answer follow-ups.",
)
THANKS_REPLIES: tuple[str, ...] = (
    "Thanks everyone, that makes a lot of sense. I'll try it this weekend.",
    "Update: followed the advice above and it worked. Much appreciated.",
    "Brilliant, thank you. I had no idea it was that simple.",
)

# Low-quality material for the heuristic filters to reject.
SPAM_KEYWORDS: tuple[str, ...] = (
    "cheap watches", "replica handbags", "best price", "buy now", "free shipping", "discount code",
    "casino bonus", "online pharmacy", "weight loss pills", "make money fast", "work from home",
    "crypto signals", "limited offer", "click here", "100% guaranteed", "cheap flights", "best deals",
    "top rated", "lowest price", "order today",
)
LOREM: str = ("Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut "
              "labore et dolore magna aliqua.")
SHORT_TEXTS: tuple[str, ...] = ("bump", "+1, same here", "Thanks!", "Page under construction.",
                                "Coming soon.", "test post please ignore")
BOILERPLATE_LINES: tuple[str, ...] = (
    "Home", "About us", "Contact", "Privacy policy", "Terms of use", "Cookie settings", "Sitemap",
    "Log in", "Register", "Subscribe to our newsletter", "Follow us on social media",
    "All rights reserved.", "Back to top", "Share this page", "Print this page", "Accessibility",
)

# Source files for the `code` domain: (path, language, source).
CODE_FILES: tuple[tuple[str, str, str], ...] = (
    ("csvstats/summary.py", "python", '''"""Summary statistics for the numeric columns of a CSV file."""
import csv
import math
import sys
from collections import defaultdict


def read_numeric_columns(path):
    """Return {column: [values]} for every column whose cells all parse as floats."""
    columns = defaultdict(list)
    rejected = set()
    with open(path, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            for name, cell in row.items():
                if name in rejected:
                    continue
                try:
                    columns[name].append(float(cell))
                except (TypeError, ValueError):
                    rejected.add(name)
                    columns.pop(name, None)
    return dict(columns)


def describe(values):
    n = len(values)
    mean = sum(values) / n
    variance = sum((v - mean) ** 2 for v in values) / (n - 1) if n > 1 else 0.0
    ordered = sorted(values)
    mid = n // 2
    median = ordered[mid] if n % 2 else (ordered[mid - 1] + ordered[mid]) / 2
    return {"n": n, "mean": mean, "std": math.sqrt(variance), "median": median,
            "min": ordered[0], "max": ordered[-1]}


if __name__ == "__main__":
    for column, values in read_numeric_columns(sys.argv[1]).items():
        stats = describe(values)
        print(f"{column:>20}  n={stats['n']:<6} mean={stats['mean']:.3f} std={stats['std']:.3f}")
'''),
    ("lru/cache.py", "python", '''from collections import OrderedDict


class LRUCache:
    """A fixed-size mapping that evicts the least recently used entry when full."""

    def __init__(self, capacity: int):
        if capacity <= 0:
            raise ValueError("capacity must be positive")
        self.capacity = capacity
        self._items: OrderedDict = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, key, default=None):
        if key in self._items:
            self._items.move_to_end(key)
            self.hits += 1
            return self._items[key]
        self.misses += 1
        return default

    def put(self, key, value) -> None:
        if key in self._items:
            self._items.move_to_end(key)
        self._items[key] = value
        if len(self._items) > self.capacity:
            self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)

    def hit_rate(self) -> float:
        total = self.hits + self.misses
        return self.hits / total if total else 0.0
'''),
    ("tools/rename_photos.py", "python", '''#!/usr/bin/env python3
"""Rename photos to their capture date, e.g. IMG_0042.jpg -> 2023-07-14_0042.jpg."""
import argparse
import datetime as dt
import pathlib


def new_name(path: pathlib.Path) -> str:
    stamp = dt.datetime.fromtimestamp(path.stat().st_mtime)
    suffix = path.stem.split("_")[-1]
    return f"{stamp:%Y-%m-%d}_{suffix}{path.suffix.lower()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("folder", type=pathlib.Path)
    parser.add_argument("--dry-run", action="store_true", help="only print what would be renamed")
    args = parser.parse_args()
    for path in sorted(args.folder.glob("*.jpg")) + sorted(args.folder.glob("*.JPG")):
        target = path.with_name(new_name(path))
        if target.exists():
            print(f"skip {path.name}: {target.name} already exists")
            continue
        print(f"{path.name} -> {target.name}")
        if not args.dry_run:
            path.rename(target)


if __name__ == "__main__":
    main()
'''),
    ("textkit/tokenize.py", "python", '''import re
from collections import Counter

_WORD = re.compile(r"[A-Za-z]+(?:'[a-z]+)?|\\d+(?:\\.\\d+)?")
STOPWORDS = frozenset("a an and are as at be by for from in is it of on or that the to was with".split())


def words(text: str) -> list[str]:
    """Lower-cased word and number tokens; punctuation is dropped."""
    return [match.group(0).lower() for match in _WORD.finditer(text)]


def top_terms(text: str, k: int = 10) -> list[tuple[str, int]]:
    counts = Counter(w for w in words(text) if w not in STOPWORDS and len(w) > 2)
    return counts.most_common(k)


def sentences(text: str) -> list[str]:
    parts = re.split(r"(?<=[.!?])\\s+(?=[A-Z])", text.strip())
    return [p for p in parts if p]
'''),
    ("ringbuf/src/lib.rs", "rust", '''/// A fixed-capacity ring buffer that overwrites the oldest element when full.
pub struct RingBuffer<T> {
    items: Vec<Option<T>>,
    head: usize,
    len: usize,
}

impl<T> RingBuffer<T> {
    pub fn with_capacity(capacity: usize) -> Self {
        assert!(capacity > 0, "capacity must be positive");
        let mut items = Vec::with_capacity(capacity);
        items.resize_with(capacity, || None);
        RingBuffer { items, head: 0, len: 0 }
    }

    pub fn push(&mut self, value: T) -> Option<T> {
        let capacity = self.items.len();
        let slot = (self.head + self.len) % capacity;
        if self.len == capacity {
            let old = self.items[self.head].replace(value);
            self.head = (self.head + 1) % capacity;
            old
        } else {
            self.items[slot] = Some(value);
            self.len += 1;
            None
        }
    }

    pub fn pop(&mut self) -> Option<T> {
        if self.len == 0 {
            return None;
        }
        let value = self.items[self.head].take();
        self.head = (self.head + 1) % self.items.len();
        self.len -= 1;
        value
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overwrites_oldest() {
        let mut buf = RingBuffer::with_capacity(2);
        buf.push(1);
        buf.push(2);
        assert_eq!(buf.push(3), Some(1));
        assert_eq!(buf.pop(), Some(2));
        assert_eq!(buf.pop(), Some(3));
        assert!(buf.is_empty());
    }
}
'''),
    ("wordfreq/src/main.rs", "rust", '''use std::collections::HashMap;
use std::env;
use std::fs;
use std::process;

fn main() {
    let path = env::args().nth(1).unwrap_or_else(|| {
        eprintln!("usage: wordfreq FILE [TOP]");
        process::exit(2);
    });
    let top: usize = env::args().nth(2).and_then(|s| s.parse().ok()).unwrap_or(20);
    let text = fs::read_to_string(&path).unwrap_or_else(|err| {
        eprintln!("cannot read {}: {}", path, err);
        process::exit(1);
    });

    let mut counts: HashMap<String, usize> = HashMap::new();
    for word in text
        .split(|c: char| !c.is_alphanumeric() && c != '\\'')
        .filter(|w| !w.is_empty())
    {
        *counts.entry(word.to_lowercase()).or_insert(0) += 1;
    }

    let mut ranked: Vec<(String, usize)> = counts.into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    for (word, count) in ranked.into_iter().take(top) {
        println!("{:>8}  {}", count, word);
    }
}
'''),
    ("config/src/parse.rs", "rust", '''use std::collections::BTreeMap;
use std::fmt;

#[derive(Debug, PartialEq)]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// Parse `key = value` lines into sections; `[name]` starts a section, `#` starts a comment.
pub fn parse(text: &str) -> Result<BTreeMap<String, BTreeMap<String, String>>, ParseError> {
    let mut sections = BTreeMap::new();
    let mut current = String::from("default");
    for (index, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        if line.starts_with('[') && line.ends_with(']') {
            current = line[1..line.len() - 1].trim().to_string();
            continue;
        }
        let (key, value) = line.split_once('=').ok_or_else(|| ParseError {
            line: index + 1,
            message: format!("expected key = value, found {:?}", line),
        })?;
        sections
            .entry(current.clone())
            .or_insert_with(BTreeMap::new)
            .insert(key.trim().to_string(), value.trim().to_string());
    }
    Ok(sections)
}
'''),
    ("budget/categorise.py", "python", '''"""Sort bank transactions into spending categories by keyword."""
import csv
from decimal import Decimal

CATEGORIES = {
    "housing": ("rent", "mortgage", "council tax", "water"),
    "food": ("supermarket", "bakery", "grocer", "market"),
    "transport": ("rail", "bus", "fuel", "bike shop"),
}


def categorise(description: str) -> str:
    text = description.lower()
    for category, keywords in CATEGORIES.items():
        if any(keyword in text for keyword in keywords):
            return category
    return "other"


def monthly_totals(path: str) -> dict[tuple[str, str], Decimal]:
    """Sum amounts per (YYYY-MM, category) from a CSV with date, description and amount columns."""
    totals: dict[tuple[str, str], Decimal] = {}
    with open(path, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            key = (row["date"][:7], categorise(row["description"]))
            totals[key] = totals.get(key, Decimal("0")) + Decimal(row["amount"])
    return totals
'''),
)

AUTHORS: tuple[str, ...] = ("Helen Marsh", "David Okafor", "Priya Raman", "Tom Whitfield", "Sofia Lindqvist",
                            "James Carter", "Ruth Evans", "Kenji Watanabe", "Alice Moreau", "Ben Hughes",
                            "Grace Thompson", "Oliver Brandt")

# PDF reports: (topic, title, organisation). Section headings come from TITLES[topic].
REPORTS: tuple[tuple[str, str, str], ...] = (
    ("astronomy", "Observing Notes for the Winter Season", "Millbrook Astronomical Society"),
    ("local_history", "The Mill and the River: Seven Centuries of Millbrook", "Millbrook Local History Society"),
    ("software", "Design Notes for a Batch Processing Tool", "Tinyproject Developers"),
    ("finance", "Household Finances: A Practical Guide", "Community Money Advice Network"),
    ("cycling", "Cycling to Work: Advice From Club Members", "Riverside Cycling Club"),
    ("gardening", "Allotment Growing Trials: Annual Report", "Millbrook Allotment Association"),
    ("birding", "Birds of the Valley: Annual Report", "Valley Bird Club"),
    ("hiking", "Safety on the Hills: A Guide for Walking Groups", "Upland Walking Federation"),
)

# The typed letter reproduced as a scanned (image-only) appendix page; OCR must recover it.
SCANNED_LETTER: tuple[str, ...] = (
    "Appendix A. Letter from the County Surveyor, 14 March 1895",
    "Dear Sir,",
    "I write to confirm that the survey of the river banks below the bridge has now been completed. The "
    "flood of last November has undermined the footings of the east wall of the mill and carried away a "
    "considerable part of the tannery yard. In my opinion a stone embankment of not less than two hundred "
    "yards will be required to protect the lower town from a repetition of that disaster.",
    "The estimate for the work, including the new footbridge, is four hundred and twenty pounds. I should "
    "be grateful if the Council would consider the matter at its next meeting.",
    "I remain, Sir, your obedient servant,",
    "W. H. Pennington, County Surveyor",
)

# Per-language page chrome: navigation, cookie banner, comment and sidebar headings, footer.
SITE_CHROME: dict[str, dict[str, object]] = {
    "en": {"nav": ("Home", "Articles", "Guides", "About", "Contact"),
           "cookie": "We use cookies to improve your experience and to show you relevant content. By continuing "
                     "to browse this site you agree to our use of cookies.",
           "accept": "Accept all", "settings": "Cookie settings", "comments": "Comments",
           "reply": "Leave a reply", "popular": "Popular posts", "newsletter": "Get new posts by email",
           "tags": "Tags", "by": "By", "read": "min read", "share": "Share this article",
           "rights": "All rights reserved.", "links": ("Privacy policy", "Terms of use", "Sitemap"),
           "comment_samples": ("Thanks for writing this up, really clear.", "Tried this at the weekend and it "
                               "worked a treat!", "Could you do a follow-up post on the more advanced stuff?",
                               "Great post as always.", "I've been doing this wrong for years, cheers.",
                               "Shared this with my dad, he loved it.", "Bookmarked for later.")},
    "de": {"nav": ("Startseite", "Ratgeber", "Gartenjahr", "Über uns", "Kontakt"),
           "cookie": "Wir verwenden Cookies, um Ihnen das beste Nutzererlebnis zu bieten. Wenn Sie die Seite "
                     "weiter nutzen, stimmen Sie der Verwendung von Cookies zu.",
           "accept": "Alle akzeptieren", "settings": "Einstellungen", "comments": "Kommentare",
           "reply": "Antwort hinterlassen", "popular": "Beliebte Beiträge", "newsletter": "Newsletter abonnieren",
           "tags": "Schlagwörter", "by": "Von", "read": "Min. Lesezeit", "share": "Beitrag teilen",
           "rights": "Alle Rechte vorbehalten.", "links": ("Datenschutz", "Impressum", "Sitemap"),
           "comment_samples": ("Danke für die tollen Tipps!", "Das probiere ich am Wochenende gleich aus.",
                               "Super erklärt, vielen Dank.", "Bei mir hat das leider nicht geklappt.")},
    "fr": {"nav": ("Accueil", "Recettes", "Techniques", "À propos", "Contact"),
           "cookie": "Nous utilisons des cookies pour améliorer votre expérience. En poursuivant votre "
                     "navigation, vous acceptez leur utilisation.",
           "accept": "Tout accepter", "settings": "Paramètres", "comments": "Commentaires",
           "reply": "Laisser un commentaire", "popular": "Articles populaires",
           "newsletter": "Recevoir la lettre d'information", "tags": "Étiquettes", "by": "Par",
           "read": "min de lecture", "share": "Partager cet article", "rights": "Tous droits réservés.",
           "links": ("Confidentialité", "Mentions légales", "Plan du site"),
           "comment_samples": ("Merci pour cette recette !", "Testé ce week-end, un vrai succès.",
                               "Très clair, merci beaucoup.", "Et avec des lentilles vertes, ça marche aussi ?")},
}
