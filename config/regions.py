"""Azure region names a stack's ``location`` may take (the ARM ``name`` of each region).

Source: the ``name`` field of ARM's Subscriptions - List Locations
(https://learn.microsoft.com/rest/api/resources/subscriptions/list-locations, what
``az account list-locations --query "[?metadata.regionType=='Physical'].name"`` prints), public cloud
plus the US Government and China clouds, as of 2026-12. Written from that list, not fetched live:
a region Azure opens later is refused until it is added here (one line). Whether a region offers AKS
or a GPU series is a separate question (the SKU catalog and quota rules).
"""

from __future__ import annotations

AZURE_REGIONS = frozenset(
    {
        # Americas
        "brazilsouth",
        "brazilsoutheast",
        "canadacentral",
        "canadaeast",
        "centralus",
        "chilecentral",
        "eastus",
        "eastus2",
        "mexicocentral",
        "northcentralus",
        "southcentralus",
        "westcentralus",
        "westus",
        "westus2",
        "westus3",
        # Europe
        "austriaeast",
        "belgiumcentral",
        "denmarkeast",
        "francecentral",
        "francesouth",
        "germanynorth",
        "germanywestcentral",
        "italynorth",
        "northeurope",
        "norwayeast",
        "norwaywest",
        "polandcentral",
        "spaincentral",
        "swedencentral",
        "swedensouth",
        "switzerlandnorth",
        "switzerlandwest",
        "uksouth",
        "ukwest",
        "westeurope",
        # Middle East and Africa
        "israelcentral",
        "qatarcentral",
        "southafricanorth",
        "southafricawest",
        "uaecentral",
        "uaenorth",
        # Asia Pacific
        "australiacentral",
        "australiacentral2",
        "australiaeast",
        "australiasoutheast",
        "centralindia",
        "eastasia",
        "indonesiacentral",
        "japaneast",
        "japanwest",
        "jioindiacentral",
        "jioindiawest",
        "koreacentral",
        "koreasouth",
        "malaysiawest",
        "newzealandnorth",
        "southeastasia",
        "southindia",
        "taiwannorth",
        "taiwannorthwest",
        "westindia",
        # Azure Government and Azure China
        "usgovarizona",
        "usgovtexas",
        "usgovvirginia",
        "usdodcentral",
        "usdodeast",
        "chinaeast",
        "chinaeast2",
        "chinaeast3",
        "chinanorth",
        "chinanorth2",
        "chinanorth3",
    }
)
